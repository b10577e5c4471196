"""Usage analytics below the channels: what a hop or an SMS records (:mod:`~gateway.usage.events`:
a Redis stream entry written in the hop's own pipeline, drained into SQL by a job), the daily
roll-up (:mod:`~gateway.usage.rollup`) and retention (:mod:`~gateway.usage.retention`), all
run by :func:`~gateway.usage.housekeeping.housekeep` on the sweeper's schedule.

May import: ``runtime``, ``directory``, ``store``, ``channels``, ``config`` and the floor.
Imported by ``sms`` and ``ussd`` (to record) and ``staff`` (to read the figures).
"""

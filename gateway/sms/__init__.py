"""The SMS pipeline: inbound SMS stored before AT's 200 and answered by a worker
(:mod:`~gateway.sms.inbound`, :mod:`~gateway.sms.replies`), consent and subscriptions
(:mod:`~gateway.sms.consent`; STOP/START with their confirmations: :mod:`~gateway.sms.optout`),
the outbox (:mod:`~gateway.sms.outbox`) and its sending (:mod:`~gateway.sms.sending`, with
:mod:`~gateway.sms.ratelimit`; bulk rules — quiet hours (:mod:`~gateway.sms.quiet_hours`),
consent at the last moment, a broadcast's pause/resume/finish — in :mod:`~gateway.sms.bulk`), delivery reports (:mod:`~gateway.sms.delivery`) and the
sweeper that recovers what a dead worker left (:mod:`~gateway.sms.sweeper`), and what waits to be
sent, for ``/metrics`` and ``thusong status`` (:mod:`~gateway.sms.backlog`).

May import: ``runtime``, ``directory``, ``channels``, ``store``, ``menus``, ``config`` and the
floor. Never ``ussd`` (which queues SMS through here) and never Flask.
"""

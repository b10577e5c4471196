"""The staff side: accounts and password checks (:mod:`~gateway.staff.accounts`); broadcasts —
who they go to (:mod:`~gateway.staff.targets`), what they look like and cost
(:mod:`~gateway.staff.preview`), their life from draft to sent (:mod:`~gateway.staff.broadcasts`).
Audit, analytics queries and privacy requests join it.

May import: ``ussd``, ``sms``, ``runtime``, ``directory``, ``channels``, ``store``, ``menus``,
``config`` and the floor. Never Flask: the dashboard's views live in ``gateway.web``.
"""

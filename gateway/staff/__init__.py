"""The staff side: accounts and password checks (:mod:`~gateway.staff.accounts`); broadcasts,
approvals, audit, analytics queries and privacy requests join it.

May import: ``ussd``, ``sms``, ``runtime``, ``directory``, ``channels``, ``store``, ``menus``,
``config`` and the floor. Never Flask: the dashboard's views live in ``gateway.web``.
"""

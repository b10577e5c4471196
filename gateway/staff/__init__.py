"""The staff side: accounts, roles, the centres an account may see and password checks
(:mod:`~gateway.staff.accounts`), the audit log (:mod:`~gateway.staff.audit`); broadcasts,
approvals, analytics queries and privacy requests join it.

May import: ``ussd``, ``sms``, ``runtime``, ``directory``, ``channels``, ``store``, ``menus``,
``config`` and the floor. Never Flask: the dashboard's views live in ``gateway.web``.
"""

"""The staff side: accounts, roles, the centres an account may see and password checks
(:mod:`~gateway.staff.accounts`), the audit log (:mod:`~gateway.staff.audit`); broadcasts —
who they go to (:mod:`~gateway.staff.targets`), what they look like and cost
(:mod:`~gateway.staff.preview`), their life from draft to sent and who may see and act on them
(:mod:`~gateway.staff.broadcasts`), their progress and start (:mod:`~gateway.staff.progress`); service
visits to centres and the notice, reminder and corrections each sends as broadcasts
(:mod:`~gateway.staff.visits`); centres and their CSV (:mod:`~gateway.staff.centres`), with a
clerk's change to a centre's name, address or phone held for an approver
(:mod:`~gateway.staff.centre_changes`); POPIA requests about one number (:mod:`~gateway.staff.privacy`)
over the registry of everything that holds data derived from a number
(:mod:`~gateway.staff.holders`); the centres directory (:mod:`~gateway.staff.centres`) and its CSV
import as a worker job (:mod:`~gateway.staff.centre_import`); offices' live status set by staff,
scoped and audited (:mod:`~gateway.staff.office_status`); translations taken from a
translator's PO file string by string (:mod:`~gateway.staff.translations`, checked by
:mod:`~gateway.staff.translation_checks`) and reviewed in context on the dashboard
(:mod:`~gateway.staff.translation_review`, the screens by :mod:`~gateway.staff.translation_screens`).
Analytics queries join it.

May import: ``ussd``, ``dialogue``, ``sms``, ``runtime``, ``directory``, ``channels``, ``store``, ``menus``,
``config`` and the floor. Never Flask: the dashboard's views live in ``gateway.web``.
"""

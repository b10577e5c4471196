"""The staff side: accounts, roles, the centres an account may see and password checks
(:mod:`~gateway.staff.accounts`), the one-time links with which a person sets their own
password (:mod:`~gateway.staff.invitations`), the audit log (:mod:`~gateway.staff.audit`); broadcasts —
who they go to (:mod:`~gateway.staff.targets`), what they look like and cost
(:mod:`~gateway.staff.preview`), their life from draft to sent and who may see and act on them
(:mod:`~gateway.staff.broadcasts`), their progress and start (:mod:`~gateway.staff.progress`), the
check a sender confirms and what binds it (:mod:`~gateway.staff.send_check`), a test of the text
to the sender's own phone (:mod:`~gateway.staff.own_phone`); service
visits to centres and the notice, reminder and corrections each sends as broadcasts
(:mod:`~gateway.staff.visits`); centres and their CSV (:mod:`~gateway.staff.centres`), with a
clerk's change to a centre's name, address or phone held for an approver
(:mod:`~gateway.staff.centre_changes`); POPIA requests about one number (:mod:`~gateway.staff.privacy`)
over the registry of everything that holds data derived from a number
(:mod:`~gateway.staff.holders`); the centres directory (:mod:`~gateway.staff.centres`) and its CSV
import as a worker job (:mod:`~gateway.staff.centre_import`); offices' live status set by staff,
scoped and audited (:mod:`~gateway.staff.office_status`), also by SMS from a staff phone
(:mod:`~gateway.staff.status_sms`, how the inbound workers answer every SMS); citizens' questions
and complaints read, answered, noted, closed and transferred within the account's centres,
audited (:mod:`~gateway.staff.questions`), with the inbox's guard that a form acts only on the
thread its author read (:mod:`~gateway.staff.inbox`); translations taken from a
translator's PO file string by string (:mod:`~gateway.staff.translations`, checked by
:mod:`~gateway.staff.translation_checks`) and reviewed in context on the dashboard
(:mod:`~gateway.staff.translation_review`, the screens by :mod:`~gateway.staff.translation_screens`);
the approvals inbox — what waits for a
decision, and what was decided since an author last looked (:mod:`~gateway.staff.approvals`) —
and the texts to staff about it (:mod:`~gateway.staff.staff_notices`); one number's message log,
scoped and audited (:mod:`~gateway.staff.message_log`, paged through
:mod:`~gateway.staff.number_lookups`). Analytics queries join it (:mod:`~gateway.staff.analytics`,
one :class:`~gateway.staff.figures.Figure` each, offices' status and questions in
:mod:`~gateway.staff.status_figures` and :mod:`~gateway.staff.question_figures`).

May import: ``ussd``, ``dialogue``, ``sms``, ``runtime``, ``directory``, ``channels``, ``store``, ``menus``,
``config`` and the floor. Never Flask: the dashboard's views live in ``gateway.web``.
"""

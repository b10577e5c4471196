"""The dialogue between citizens and government (DESIGN.md §1, objective 4): the offices at a
centre and their live status (:mod:`~gateway.dialogue.offices`,
:mod:`~gateway.dialogue.office_status`); citizens' questions and complaints: threads with a
reference (:mod:`~gateway.dialogue.questions`, :mod:`~gateway.dialogue.references`), opened and
continued by SMS and USSD (:mod:`~gateway.dialogue.threads`), answered by staff
(``gateway.staff.questions``, which judges scope and audits).

Who may set a status (a clerk for their centres, admins any) and the audit row are the staff
side's (``gateway.staff.office_status``): this package records and reads, it does not judge.

May import: ``sms``, ``usage``, ``runtime``, ``directory``, ``store``, ``channels``, ``menus``,
``config`` and the floor. Used by ``ussd``, ``staff``, ``web`` and ``cli``. Never Flask.
"""

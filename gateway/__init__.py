"""The gateway: everything between Africa's Talking and the pure menus, one package per
capability, layered top to bottom (``pyproject.toml``'s import-linter contracts enforce it):

- ``cli`` — the ``thusong`` command (may import everything, ``web`` included);
- ``web`` — Flask: app factory, security headers and CSRF, blueprints (webhooks, simulator,
  health, the staff dashboard);
- ``staff`` — staff accounts, roles and their centres, the audit log (broadcasts, approvals next);
- ``ussd`` — the USSD hop, its ports onto the directory and the SMS side, Redis sessions;
- ``dialogue`` — offices at centres and their live status (citizens' questions next);
- ``sms`` — inbound SMS, keyword replies, consent, the outbox and sending, delivery reports,
  the sweeper, the rate limit;
- ``runtime`` — the one ``Runtime`` that builds and owns every client;
- ``directory`` | ``channels`` — centres (search, browse, CSV, gazetteer, reference data) |
  the Africa's Talking adapter;
- ``store`` — SQL engine, models and migrations;
- the floor: ``jobs`` (job names, queues), ``clock``, ``phones``, ``metrics``, ``redis_server``,
  ``fleet`` (the RQ workers and scheduler: alive or dead by heartbeat; what ``/metrics`` shows of
  them), ``traced`` (jobs that carry the request id that queued them).
"""

"""RQ job entry points: thin, JSON-safe shims (ids and plain values in) over plain functions
in ``gateway`` that take the runtime explicitly. ``gateway.jobs`` names them by dotted path,
so the gateway never imports this package. Never imports Flask."""

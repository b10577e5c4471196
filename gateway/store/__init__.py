"""Storage: the SQL engine and sessions (:mod:`~gateway.store.engine`), the typed SQLAlchemy 2.0
models (:mod:`~gateway.store.models`) and the Alembic migrations that own the schema.

May import: ``config`` and the floor modules only. Every other package reads and writes
through these models; nothing here knows about USSD, SMS or Flask.
"""

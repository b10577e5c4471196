"""The only place that names worker jobs. Jobs are referenced by dotted path, so the gateway
never imports ``workers`` (layers: workers → gateway), and their arguments are JSON-safe."""

from __future__ import annotations

PING = "workers.health.ping"

QUEUE_REPLIES = "replies"  # citizen-facing: always served first
QUEUE_BULK = "bulk"
QUEUES = (QUEUE_REPLIES, QUEUE_BULK)

HANDLE_INBOUND = "workers.inbound.handle"  # (message_id) → parse keyword, reply through the outbox
DRAIN_INBOUND = "workers.inbound.drain"  # () → answer every stored inbound SMS, oldest first
SEND_PENDING = "workers.sms.send_pending"  # (queue, release=False) → claim and send that queue's rows
SWEEP = "workers.sms.sweep"  # () → leases, reconciliation deadlines, lost jobs

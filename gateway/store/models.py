"""SQLAlchemy 2.0 typed models: the directory, citizens, subscriptions and every SMS.

Every SMS, inbound or outbound, is a :class:`Message` row with a unique ``idempotency_key``
written before anything is sent; that row, not the queue, is what makes sending exactly-once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    insert,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Columns holding AT's fields take their sizes from the AT module's limits tables (the module
# that parses the fields says how long each may be; the store only follows it), so a limit is
# changed in one place. Changing one still needs a migration, like any column.
from gateway.channels.africastalking import (
    AT_ID_CHARS,
    DELIVERY_LIMITS,
    INBOUND_SMS_LIMITS,
    OPTOUT_LIMITS,
    RECIPIENT_LIMITS,
    USSD_END_LIMITS,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(dt: datetime) -> datetime:
    """A stored time as an aware UTC datetime: SQLite hands back naive UTC, PostgreSQL aware."""
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    # Named constraints so Alembic migrations behave the same on SQLite and PostgreSQL.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Province(Base):
    __tablename__ = "provinces"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    municipalities: Mapped[list[Municipality]] = relationship(back_populates="province")


class Municipality(Base):
    __tablename__ = "municipalities"
    __table_args__ = (UniqueConstraint("province_id", "name", name="uq_municipality_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    province_id: Mapped[int] = mapped_column(ForeignKey("provinces.id"))
    province: Mapped[Province] = relationship(back_populates="municipalities")


centre_services = Table(
    "centre_services",
    Base.metadata,
    Column("centre_id", ForeignKey("centres.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
)


class Centre(Base):
    """A Thusong Service Centre. ``key`` is the normalised name: the import's upsert key."""

    __tablename__ = "centres"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    province_id: Mapped[int | None] = mapped_column(ForeignKey("provinces.id"))
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipalities.id"))
    town: Mapped[str | None] = mapped_column(String(128))
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))
    hours: Mapped[str | None] = mapped_column(String(200))  # free text from before 0009; shown when no day is set
    # Hours per weekday in gateway.directory.hours' grammar ("closed", "07:30-16:00"); None: not recorded.
    hours_mon: Mapped[str | None] = mapped_column(String(32))
    hours_tue: Mapped[str | None] = mapped_column(String(32))
    hours_wed: Mapped[str | None] = mapped_column(String(32))
    hours_thu: Mapped[str | None] = mapped_column(String(32))
    hours_fri: Mapped[str | None] = mapped_column(String(32))
    hours_sat: Mapped[str | None] = mapped_column(String(32))
    hours_sun: Mapped[str | None] = mapped_column(String(32))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # "building" (the centre itself), "town" (the town's GeoNames point, as given in the source)
    # or "gazetteer" (filled at import from our gazetteer): replies must not claim precision.
    coord_source: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    province: Mapped[Province | None] = relationship()
    municipality: Mapped[Municipality | None] = relationship()
    services: Mapped[list[Service]] = relationship(secondary=centre_services)
    offices: Mapped[list[Office]] = relationship(secondary="centre_offices", order_by="Office.id")


class ServiceBlock(Base):
    """One of the six blocks of the Thusong Six-Block Service Model."""

    __tablename__ = "service_blocks"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    services: Mapped[list[Service]] = relationship(back_populates="block", order_by="Service.id")


class Service(Base):
    __tablename__ = "services"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    block_id: Mapped[int] = mapped_column(ForeignKey("service_blocks.id"))
    block: Mapped[ServiceBlock] = relationship(back_populates="services")


office_services = Table(
    "office_services",
    Base.metadata,
    Column("office_id", ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
)
centre_offices = Table(
    "centre_offices",
    Base.metadata,
    Column("centre_id", ForeignKey("centres.id", ondelete="CASCADE"), primary_key=True),
    Column("office_id", ForeignKey("offices.id", ondelete="CASCADE"), primary_key=True),
)


class Office(Base):
    """A department that may sit at a centre (``HA`` Home Affairs, ``SASSA`` …): reference data
    (``gateway.dialogue.offices``), mapped to the Six-Block services it provides."""

    __tablename__ = "offices"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(64))  # English; other languages in the catalogues
    services: Mapped[list[Service]] = relationship(secondary=office_services, order_by="Service.id")


class OfficeStatus(Base):
    """One report of an office's state at a centre (``up`` / ``slow`` / ``down``, a reason code).
    Never updated: a new report is a new row, so the history stays countable; the latest row of
    a centre and office is its status until ``expires_at`` (``gateway.dialogue.office_status``)."""

    __tablename__ = "office_statuses"
    __table_args__ = (Index("ix_office_statuses_latest", "centre_id", "office_id", "set_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id", ondelete="CASCADE"))
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(String(16))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    via: Mapped[str] = mapped_column(String(16))  # "cli", "dashboard", "sms"
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Question(Base):
    """A citizen's question or complaint: a thread known by its reference (``Q`` + digits 2–9,
    unique by index: ``gateway.dialogue.references`` retries on a collision), routed to a
    centre (None: the unassigned queue admins route). ``waiting_since``/``due_at``: the oldest
    citizen message not yet answered and when its answer is due (2 working days); both None
    once staff answered. ``answered_at``: the latest staff answer, which opens the 3-day
    window in which any SMS from the number joins the thread (``gateway.dialogue.threads``)."""

    __tablename__ = "questions"
    __table_args__ = (Index("ix_questions_inbox", "status", "centre_id", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(12), unique=True)
    phone: Mapped[str] = mapped_column(String(16), index=True)  # E.164
    kind: Mapped[str] = mapped_column(String(8))  # "ask" | "complain"
    language: Mapped[str] = mapped_column(String(3), default="en")
    via: Mapped[str] = mapped_column(String(8))  # "sms" | "ussd"
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(8), default="open")  # "open" | "closed"
    outcome: Mapped[str | None] = mapped_column(Text)  # staff's words on closing; emptied by retention
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    waiting_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class QuestionEntry(Base):
    """One message of a question's thread: the citizen's (``citizen``), a staff answer sent by
    SMS (``answer``) or an internal note staff only see (``note``). ``message_id``: the SMS row
    (inbound, or the queued answer); no foreign key, the outbox outlives what produced it.
    ``text`` is personal data: exported, erased and emptied by retention as SMS bodies are."""

    __tablename__ = "question_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # "citizen" | "answer" | "note"
    text: Mapped[str] = mapped_column(Text)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    message_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class Citizen(Base):
    """A phone number that has used the service. Only what the features need (POPIA)."""

    __tablename__ = "citizens"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(16), unique=True)  # E.164
    language: Mapped[str] = mapped_column(String(3), default="en")
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opted_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The sender id or shortcode an AT opt-out callback named (which sender they stopped).
    opt_out_sender_id: Mapped[str | None] = mapped_column(String(OPTOUT_LIMITS["sender_id"]))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Subscription(Base):
    """Opt-in to a centre's notices; ``ended_at`` set on unsubscribe (kept as consent record)."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("citizen_id", "centre_id", name="uq_subscription"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id", ondelete="CASCADE"))
    consented_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Consent to be texted when an office at the centre goes down (ALERTS, USSD); None = none.
    alerts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    citizen: Mapped[Citizen] = relationship()
    centre: Mapped[Centre] = relationship()


class Message(Base):
    """One SMS in either direction.

    ``idempotency_key`` is unique: inbound rows use AT's message id (AT retries for 12 h),
    outbound rows a key chosen by the producer, so a re-run producer cannot double a send.
    """

    __tablename__ = "messages"
    # What is still to send, by status and queue, oldest first: read at every /metrics scrape.
    __table_args__ = (Index("ix_messages_outbox", "status", "queue", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    # Inbound keys carry AT's id whole (inbound.inbound_key): room for the prefix and the id.
    idempotency_key: Mapped[str] = mapped_column(String(AT_ID_CHARS + 64), unique=True)
    phone: Mapped[str] = mapped_column(String(16), index=True)  # E.164
    text: Mapped[str] = mapped_column(Text)
    queue: Mapped[str | None] = mapped_column(String(16))  # "replies" | "bulk" for outbound
    status: Mapped[str] = mapped_column(String(16), index=True)
    # AT's id: inbound, or given to an outbound message and matched by delivery reports.
    at_message_id: Mapped[str | None] = mapped_column(String(AT_ID_CHARS), index=True)
    status_code: Mapped[int | None] = mapped_column(Integer)
    failure_reason: Mapped[str | None] = mapped_column(String(DELIVERY_LIMITS["failure_reason"]))
    segments: Mapped[int | None] = mapped_column(Integer)
    encoding: Mapped[str | None] = mapped_column(String(8))
    cost: Mapped[str | None] = mapped_column(String(max(RECIPIENT_LIMITS["cost"], INBOUND_SMS_LIMITS["cost"])))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Resends after an unknown outcome (at most one, then OutcomeUnknown): its own column, as
    # failure_reason is overwritten by every attempt.
    resends: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    attempted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # last claim
    # Outbound: the address it goes from when not AT_SENDER_ID (the shortcode the citizen texted).
    sender: Mapped[str | None] = mapped_column(String(INBOUND_SMS_LIMITS["to"]))
    link_id: Mapped[str | None] = mapped_column(String(INBOUND_SMS_LIMITS["link_id"]))  # goes back to AT: whole
    sent_to: Mapped[str | None] = mapped_column(String(INBOUND_SMS_LIMITS["to"]))  # inbound: the shortcode used
    network_code: Mapped[str | None] = mapped_column(String(INBOUND_SMS_LIMITS["network_code"]))
    retry_count: Mapped[int | None] = mapped_column(Integer)  # AT's, from the latest delivery report
    # The broadcast a bulk row belongs to (its key is ``bc:<id>:<phone>``): progress is one
    # grouped query. No foreign key: the outbox outlives whatever produced it.
    broadcast_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


_INSERT_MESSAGE = insert(Message.__table__).returning(Message.__table__.c.id)


def insert_message(engine, **values) -> int:
    """Write one ``Message`` in its own transaction and return its id. A Core INSERT built once:
    every reply passes here (inbound SMS share commits: ``Runtime.inbound_rows``), and the ORM's
    unit of work cost ~1 ms of it. A duplicate ``idempotency_key`` raises ``IntegrityError``."""
    with engine.begin() as conn:
        return conn.execute(_INSERT_MESSAGE, values).scalar_one()


# A clerk may serve several centres; an approver may be limited to some (admins see all).
staff_centres = Table(
    "staff_centres",
    Base.metadata,
    Column("staff_id", ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True),
    Column("centre_id", ForeignKey("centres.id", ondelete="CASCADE"), primary_key=True),
)


class Staff(Base):
    """A centre or GCIS staff member who may log into the dashboard and send broadcasts."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(256))  # argon2id
    role: Mapped[str] = mapped_column(String(16), default="clerk")  # clerk | approver | admin | reviewer
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Raised by logout, disable and re-enable: part of the sessions' stamp, so older cookies die.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    phone: Mapped[str | None] = mapped_column(String(16), unique=True)  # E.164; staff texts come from it (0018)
    # When the account last opened its home page: decisions on its items since are shown there (0025).
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Since when it is texted about its approvals (None: not texted); only events after it (0025).
    notice_texts_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    centres: Mapped[list[Centre]] = relationship(secondary=staff_centres, order_by="Centre.id")


class AuditEvent(Base):
    """Who did what, when, from which address. ``actor`` keeps the email (or ``cli``) as text
    so the row still says who it was after the account is gone, and for failed logins of
    addresses that have no account."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(48), index=True)
    target: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)


# A broadcast's life: transition name → (states it may leave, state it enters). The staff side
# (``gateway.staff.broadcasts``) validates this at import and drives draft → sending; the
# sender (``gateway.sms.sending``) drives pause, resume and finish by name, below the staff layer.
BROADCAST_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "submit": (frozenset({"draft"}), "pending_approval"),
    "approve": (frozenset({"pending_approval", "draft"}), "approved"),
    "reject": (frozenset({"pending_approval"}), "rejected"),
    "schedule": (frozenset({"approved"}), "scheduled"),
    "start": (frozenset({"scheduled"}), "sending"),
    "pause": (frozenset({"sending"}), "paused"),
    "resume": (frozenset({"paused"}), "sending"),
    "finish": (frozenset({"sending"}), "sent"),
    "cancel": (frozenset({"draft", "pending_approval", "approved", "scheduled", "sending", "paused"}), "cancelled"),
}
BROADCAST_STATES = ("draft", "pending_approval", "approved", "scheduled", "sending", "paused", "sent",
                    "cancelled", "rejected")


class Broadcast(Base):
    """A staff announcement to many subscribers. ``target`` is the spec as typed
    (``province:Gauteng``), ``text`` what the author wrote, ``full_text`` what is sent (prefix,
    text, opt-out line). ``author_id`` null: the command line. ``fanned_out_at``: every
    recipient has an outbox row."""

    __tablename__ = "broadcasts"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    target: Mapped[str] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(3))
    text: Mapped[str] = mapped_column(Text)
    full_text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), index=True, default="draft")
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    rejected_reason: Mapped[str | None] = mapped_column(Text)
    recipients: Mapped[int | None] = mapped_column(Integer)  # after opt-outs when composed; rows written at fan-out
    fanned_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The service visit this broadcast announces, reminds of or corrects (None: written by
    # staff). No foreign key, as for the outbox: the messages outlive what produced them.
    visit_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # The rejected broadcast this one edits and resubmits (its author's; its reason is shown beside it).
    resubmits_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


VISIT_STATES = ("pending_approval", "approved", "rejected", "cancelled", "replaced")


class Visit(Base):
    """A service's visit to a centre ("SASSA at Kagiso Thusong, Tue 3 Dec, 09:00-14:00"): a
    directory fact USSD and SMS show while it is ``approved`` and still to come. ``day`` and
    the times are South African local time. An edit of an approved visit is a new row that
    ``replaces`` it: the old one stays in force (and keeps its reminder) until the edit is
    approved, then becomes ``replaced``."""

    __tablename__ = "visits"
    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id", ondelete="CASCADE"), index=True)
    service: Mapped[str] = mapped_column(String(40))
    # The office the visit brings (new visits); None: "other", the free-text service says who.
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id", ondelete="SET NULL"))
    day: Mapped[date] = mapped_column(Date, index=True)
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)
    status: Mapped[str] = mapped_column(String(20), index=True, default="pending_approval")
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="SET NULL"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    # Why it was rejected; for a visit still in force, why a request to cancel it was refused.
    rejected_reason: Mapped[str | None] = mapped_column(Text)
    # Why it was (or is asked to be) cancelled, and who asked while the request waits for approval.
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    cancel_requested_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    # The author's wording of the notice, with its placeholders ({service}, {centre}, {when});
    # None: the standard wording (gateway.staff.visit_text).
    notice: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class MessageTemplate(Base):
    """Wording staff keep to start a broadcast or a visit notice from (``gateway.staff.templates``).
    ``centre_id`` None: shared, every account may use it; else that centre's staff (and those
    who see every centre). A centre's templates go with the centre."""

    __tablename__ = "message_templates"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(3))
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


CENTRE_CHANGE_STATES = ("pending", "approved", "rejected", "withdrawn")


class CentreChange(Base):
    """A clerk's change to what citizens read of a centre (its name, address and phone) held
    for a second person under the two-person rule (``gateway.staff.centre_changes``). It holds
    the three values wanted; ``version`` grows each time a pending one is altered, so an
    approval given on an older version is refused. At most one is pending per centre."""

    __tablename__ = "centre_changes"
    __table_args__ = (Index("ix_centre_changes_one_pending", "centre_id", unique=True,
                            sqlite_where=sql_text("status = 'pending'"), postgresql_where=sql_text("status = 'pending'")),)
    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True, default="pending")
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    rejected_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Feedback(Base):
    """A citizen's rating of a visit to a centre (1–5) and an optional reason code.

    No phone number is kept: staff need the rating, not who gave it (POPIA minimality).
    """

    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id", ondelete="CASCADE"), index=True)
    rating: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class UssdSessionLog(Base):
    """How a USSD session ended (AT's end-of-session notification), for analytics; no number."""

    __tablename__ = "ussd_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(USSD_END_LIMITS["session_id"]), unique=True)
    status: Mapped[str | None] = mapped_column(String(USSD_END_LIMITS["status"]))
    hops: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    last_screen: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(USSD_END_LIMITS["error"]))
    network_code: Mapped[str | None] = mapped_column(String(USSD_END_LIMITS["network_code"]))
    cost: Mapped[str | None] = mapped_column(String(USSD_END_LIMITS["cost"]))
    input: Mapped[str | None] = mapped_column(String(USSD_END_LIMITS["input"]))
    last_app_response: Mapped[str | None] = mapped_column(String(USSD_END_LIMITS["last_app_response"]))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class PendingDeliveryReport(Base):
    """A delivery report whose AT message id we have not recorded yet (the report can beat
    our own write of the send result, or belong to a send whose outcome was unknown). Applied
    when a message with that id appears; kept for reconciliation otherwise."""

    __tablename__ = "pending_delivery_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    at_message_id: Mapped[str] = mapped_column(String(DELIVERY_LIMITS["at_id"]), unique=True)
    phone: Mapped[str | None] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16))
    at_status: Mapped[str] = mapped_column(String(DELIVERY_LIMITS["at_status"]))
    failure_reason: Mapped[str | None] = mapped_column(String(DELIVERY_LIMITS["failure_reason"]))
    retry_count: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- usage analytics -----------------------------------------------------------------------
# What analytics keeps: raw usage rows (USSD hops, searches) and the daily roll-up.
#
# - :class:`UssdHopLog` — one screen shown on one hop; the caller is a keyed hash (HMAC of the
#   number, ``ANALYTICS_HASH_KEY``), never the number. Written in bulk by the drain job from
#   the Redis stream the hop appends to (``gateway.usage.events``).
# - :class:`UsageSearch` — a find-by-place or service search (USSD or SMS), or an SMS keyword
#   we did not recognise: what was typed (``term``, emptied by retention) and whether a centre
#   was found.
# - :class:`DailyFigure` — the roll-up: one count (and an amount, e.g. segments) per day and
#   dimension. Written whole per day by ``gateway.usage.rollup``; the analytics pages read only
#   these (plus today, computed on demand), so they stay fast and keep their totals after
#   retention empties the detail.

CALLER_CHARS = 32  # hex of the first 128 bits of an HMAC-SHA256: unique enough, half the index
TERM_CHARS = 80  # what a search screen accepts (menus.actions cuts typed text at 80)
SCREEN_CHARS = 64


class UssdHopLog(Base):
    """One hop: the screen it showed and whether that screen ended the session."""

    __tablename__ = "ussd_hops"
    # ix_ussd_hops_caller: a privacy export or delete finds one caller's hops among millions.
    __table_args__ = (Index("ix_ussd_hops_at", "at"), Index("ix_ussd_hops_session", "session_id"),
                      Index("ix_ussd_hops_caller", "caller"))
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # The Redis stream entry id: the drain inserts each entry once even if it dies between
    # the insert and the delete from the stream. Seeded rows have none.
    event_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    session_id: Mapped[str] = mapped_column(String(255))
    caller: Mapped[str] = mapped_column(String(CALLER_CHARS))
    screen: Mapped[str] = mapped_column(String(SCREEN_CHARS))
    end: Mapped[bool] = mapped_column(Boolean, default=False)


class UsageSearch(Base):
    """A search (``kind`` place | service) or an unrecognised SMS keyword (``kind`` keyword)."""

    __tablename__ = "usage_searches"
    __table_args__ = (Index("ix_usage_searches_at", "at"), Index("ix_usage_searches_caller", "caller"))
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str] = mapped_column(String(8))  # ussd | sms
    kind: Mapped[str] = mapped_column(String(16))  # place | service | keyword
    term: Mapped[str | None] = mapped_column(String(TERM_CHARS))  # typed: emptied by retention
    found: Mapped[bool] = mapped_column(Boolean, default=False)
    centre_id: Mapped[int | None] = mapped_column(Integer)  # the first centre found, for scoping
    caller: Mapped[str | None] = mapped_column(String(CALLER_CHARS))


class DailyFigure(Base):
    """One rolled-up figure: ``metric`` on ``day`` (Africa/Johannesburg) for one dimension.

    ``centre_id`` 0 means "no centre" (so the row is unique without NULL tricks); ``detail``
    and ``term`` hold the dimension's values (a screen, a rating and its reason, an outcome
    and its failure reason…) as each metric in ``gateway.usage.rollup`` documents.
    """

    __tablename__ = "daily_figures"
    __table_args__ = (Index("ix_daily_figures_metric_day", "metric", "day"),
                      Index("ix_daily_figures_day", "day"))
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    metric: Mapped[str] = mapped_column(String(24))
    centre_id: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str] = mapped_column(String(16), default="")
    detail: Mapped[str] = mapped_column(String(SCREEN_CHARS), default="")
    term: Mapped[str] = mapped_column(String(TERM_CHARS), default="")
    n: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[float] = mapped_column(Float, default=0.0)


class TranslationSuggestion(Base):
    """A reviewer's proposed wording for one string of one language, checked when proposed
    and waiting for an admin (``gateway.staff.translation_review``). ``english`` is the
    English it was proposed for: accepted only while that is still the English."""

    __tablename__ = "translation_suggestions"
    __table_args__ = (Index("ix_translation_suggestions_lang_status", "lang", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lang: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    english: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | accepted | rejected
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(128))  # the reviewer named on the string once accepted
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StaffInvitation(Base):
    """A one-time link that lets a staff account set its own password (0027). Only the SHA-256
    of the link's token is kept (``gateway.staff.invitations``): the database never holds
    what would open the account. Usable once, until ``expires_at``; a new invitation of the
    same account deletes the older ones."""

    __tablename__ = "staff_invitations"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # hex SHA-256 of the link's token
    created_by: Mapped[str] = mapped_column(String(254))  # the admin's email, or "cli"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

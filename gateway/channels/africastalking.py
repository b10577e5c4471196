"""Africa's Talking adapter: the ONLY module that knows AT's field names, ``CON``/``END``,
status words and the SDK.

Inbound: ``parse_*`` turn AT's form posts into plain records, raising :class:`WebhookError`
(naming the field) for malformed ones. Outbound: :class:`AtSender` sends through the official
``africastalking`` SDK and classifies every outcome.

Errors (each knows whether a retry is safe):

- :class:`SendError` — base; ``retryable`` says whether to try again later.
  - :class:`RetryableSendError` — nothing was accepted: connection refused or timed out before
    the request left, HTTP 5xx or 429 from AT. Safe to retry.
  - :class:`PermanentSendError` — AT refused the request itself (bad credentials, bad
    request); retrying will not help.
  - :class:`UnknownOutcome` — the request left but no answer came back (read timeout, dropped
    connection). AT may have sent it; AT has no idempotency key, so it must be reconciled,
    not blindly resent.

Per-recipient outcomes come back as :class:`RecipientResult` with AT's ``statusCode``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from gateway.phones import InvalidPhone, to_e164

# --- inbound -------------------------------------------------------------------------------
#
# What a callback field may be, three kinds (each record below has a table of its limits):
# - required (a phone, AT's id, a session id): missing or unusable → WebhookError → 400, since
#   nothing useful can be stored without it;
# - identifiers AT reads back or we match on (linkId, message ids, senderId, shortcode): kept
#   whole or not at all — never cut, so their columns are sized for what AT sends (AT_ID_CHARS);
# - our own record (status words, reasons, counts, free text): NUL replaced, clamped, a number
#   out of range clamped or dropped. A malformed optional field never refuses the callback: AT
#   retries a refused one for 12 hours, failing the same way each time.

AT_ID_CHARS = 255  # AT's ids are ~40 characters; generous, and small enough for a btree index
INT_MAX = 2**31 - 1  # SQL INTEGER
_NUL = "\x00"


class WebhookError(ValueError):
    """A malformed callback: ``field`` names what is missing or wrong (→ HTTP 400)."""

    def __init__(self, field: str, problem: str = "missing"):
        super().__init__(f"{field}: {problem}")
        self.field = field


def _required(form, name: str, limit: int | None = None) -> str:
    """A field we cannot do without, unaltered (stripped): absent, blank, longer than ``limit``
    or holding control characters (NUL) is unusable."""
    value = (form.get(name) or "").strip()
    if not value:
        raise WebhookError(name)
    if limit is not None and len(value) > limit:
        raise WebhookError(name, f"longer than {limit} characters")
    if not value.isprintable():
        raise WebhookError(name, "control characters")
    return value


def _identifier(form, name: str, limit: int) -> str | None:
    """An optional identifier, whole or None (a cut one would be a different identifier)."""
    value = (form.get(name) or "").strip()
    return value if value and len(value) <= limit and value.isprintable() else None


def _text(form, name: str, limit: int) -> str | None:
    """Optional text for our own record: NUL replaced (PostgreSQL refuses it), clamped."""
    value = form.get(name)
    return value.replace(_NUL, "\ufffd")[:limit] if value else None


def _phone(form, name: str) -> str:
    try:
        return to_e164(_required(form, name))
    except InvalidPhone as exc:
        raise WebhookError(name, str(exc)) from None


def _optional_phone(form, name: str) -> str | None:
    try:
        return to_e164(form.get(name) or "")
    except InvalidPhone:
        return None


def _integer(raw) -> int | None:
    """An int from ``7``, ``"7"``, ``" 7 "``, ``7.0`` or ``"7.0"``; None for anything else
    (words, fractions, ``nan``, booleans). Huge values come back as ±10**19, not computed."""
    if raw is None or isinstance(raw, bool):
        return None
    try:
        number = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    if number.adjusted() > 18:
        return 10**19 if number > 0 else -(10**19)
    return int(number)


def _count(form, name: str) -> int | None:
    """A count for our record: None if unreadable or negative, clamped to an SQL INTEGER."""
    number = _integer(form.get(name))
    return None if number is None or number < 0 else min(number, INT_MAX)


@dataclass(frozen=True)
class UssdHop:
    session_id: str
    service_code: str
    phone: str  # E.164
    text: str  # every input so far joined by '*'; '' on the first hop

    @property
    def inputs(self) -> list[str]:
        return self.text.split("*") if self.text else []

    @property
    def last_input(self) -> str | None:
        """The newest input (the final '*' segment), or None on the first hop."""
        return self.text.rsplit("*", 1)[-1] if self.text else None


USSD_HOP_LIMITS = {"session_id": AT_ID_CHARS, "service_code": 32, "text": 1000}
USSD_HOP_FIELDS = frozenset({"sessionId", "serviceCode", "phoneNumber", "text"})  # all a hop reads


def parse_ussd(form) -> UssdHop:
    """A hop from AT's form (any mapping with ``get``; only :data:`USSD_HOP_FIELDS` are read)."""
    lim = USSD_HOP_LIMITS
    return UssdHop(
        session_id=_required(form, "sessionId", lim["session_id"]),
        service_code=(_text(form, "serviceCode", lim["service_code"]) or "").strip(),
        phone=_phone(form, "phoneNumber"),
        text=_text(form, "text", lim["text"]) or "",
    )


def ussd_response(text: str, end: bool) -> str:
    """AT's reply body: ``CON …`` keeps the session open, ``END …`` closes it."""
    return ("END " if end else "CON ") + text


@dataclass(frozen=True)
class UssdEnd:
    session_id: str
    phone: str | None
    status: str
    hops: int | None
    duration_ms: int | None
    error: str | None
    network_code: str | None = None
    cost: str | None = None
    input: str | None = None
    last_app_response: str | None = None


USSD_END_LIMITS = {"session_id": AT_ID_CHARS, "status": 32, "error": 200, "network_code": 16, "cost": 32,
                   "input": 1000, "last_app_response": 1000}


def parse_ussd_event(form) -> UssdEnd:
    lim = USSD_END_LIMITS
    return UssdEnd(
        session_id=_required(form, "sessionId", lim["session_id"]),
        phone=_optional_phone(form, "phoneNumber"),
        status=(_text(form, "status", lim["status"]) or "").strip(),
        hops=_count(form, "hopsCount"),
        duration_ms=_count(form, "durationInMillis"),
        error=_text(form, "errorMessage", lim["error"]),
        network_code=_identifier(form, "networkCode", lim["network_code"]),
        cost=_identifier(form, "cost", lim["cost"]),
        input=_text(form, "input", lim["input"]),
        last_app_response=_text(form, "lastAppResponse", lim["last_app_response"]),
    )


_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%d/%m/%Y %H:%M:%S")


def parse_at_date(raw: str | None) -> datetime | None:
    """AT's ``date`` in the forms seen in the wild (ISO with or without zone); None if absent
    or unreadable (the caller falls back to the time it received the callback)."""
    if not raw:
        return None
    text = raw.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        for fmt in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class InboundSms:
    at_id: str
    phone: str  # E.164
    to: str | None
    text: str
    date: datetime  # AT's, or when we received it if AT's was absent or unreadable
    link_id: str | None
    network_code: str | None
    cost: str | None = None


INBOUND_SMS_LIMITS = {"at_id": AT_ID_CHARS, "to": 32, "text": 2000, "link_id": AT_ID_CHARS, "network_code": 16,
                      "cost": 32}


INBOUND_SMS_FIELDS = frozenset({"id", "from", "to", "text", "date", "linkId", "networkCode", "cost"})  # all it reads


def parse_inbound_sms(form) -> InboundSms:
    """An inbound SMS from AT's form (any mapping with ``get``; only :data:`INBOUND_SMS_FIELDS` are read)."""
    lim = INBOUND_SMS_LIMITS
    if "text" not in form:
        raise WebhookError("text")
    return InboundSms(
        at_id=_required(form, "id", lim["at_id"]),
        phone=_phone(form, "from"),
        to=_identifier(form, "to", lim["to"]),
        text=_text(form, "text", lim["text"]) or "",
        date=parse_at_date(form.get("date")) or datetime.now(UTC),
        link_id=_identifier(form, "linkId", lim["link_id"]),
        network_code=_identifier(form, "networkCode", lim["network_code"]),
        cost=_identifier(form, "cost", lim["cost"]),
    )


# AT delivery status words → our message status.
DELIVERY_STATUS = {
    "Sent": "sent", "Submitted": "sent", "Buffered": "sent",
    "Success": "delivered",
    "Rejected": "failed", "Failed": "failed", "AbsentSubscriber": "failed", "Expired": "failed",
}
OPTED_OUT_REASONS = {"UserInBlackList", "UserInBlacklist"}
# AT spells statuses in CamelCase; match them whatever the case, so 'success' is not lost.
_STATUS_BY_FOLDED = {word.lower(): status for word, status in DELIVERY_STATUS.items()}


@dataclass(frozen=True)
class DeliveryReport:
    at_id: str
    at_status: str
    status: str  # sent | delivered | failed | unknown
    phone: str | None
    network_code: str | None
    failure_reason: str | None
    retry_count: int | None

    @property
    def opted_out(self) -> bool:
        return self.failure_reason in OPTED_OUT_REASONS


DELIVERY_LIMITS = {"at_id": AT_ID_CHARS, "at_status": 32, "network_code": 16, "failure_reason": 64}


def parse_delivery(form) -> DeliveryReport:
    lim = DELIVERY_LIMITS
    at_status = form.get("status") or ""
    if not at_status.strip():
        raise WebhookError("status")
    at_status = at_status.strip().replace(_NUL, "\ufffd")
    return DeliveryReport(
        at_id=_required(form, "id", lim["at_id"]),
        at_status=at_status[:lim["at_status"]],
        status=_STATUS_BY_FOLDED.get(at_status.lower(), "unknown"),
        phone=_optional_phone(form, "phoneNumber"),
        network_code=_identifier(form, "networkCode", lim["network_code"]),
        failure_reason=_text(form, "failureReason", lim["failure_reason"]),
        retry_count=_count(form, "retryCount"),
    )


@dataclass(frozen=True)
class OptOut:
    phone: str
    sender_id: str | None


OPTOUT_LIMITS = {"sender_id": 32}


def parse_optout(form) -> OptOut:
    return OptOut(phone=_phone(form, "phoneNumber"),
                  sender_id=_identifier(form, "senderId", OPTOUT_LIMITS["sender_id"]))


# --- outbound ------------------------------------------------------------------------------

ACCEPTED = {100, 101, 102}  # Processed, Sent, Queued
RETRYABLE_CODES = {500, 501, 502}  # InternalServerError, GatewayError, RejectedByGateway
BLACKLISTED = 406  # UserInBlacklist: the number opted out with the network/AT
INSUFFICIENT_BALANCE = 405  # the account is out of credit: nothing is wrong with the message
STATUS_NAMES = {
    100: "Processed", 101: "Sent", 102: "Queued", 401: "RiskHold", 402: "InvalidSenderId",
    403: "InvalidPhoneNumber", 404: "UnsupportedNumberType", 405: "InsufficientBalance",
    406: "UserInBlacklist", 407: "CouldNotRoute", 409: "DoNotDisturbRejection",
    500: "InternalServerError", 501: "GatewayError", 502: "RejectedByGateway",
}


class SendError(Exception):
    """AT gave no per-recipient verdict for a send request; ``retryable`` says whether sending
    the same request again later is safe."""

    retryable = False


class RetryableSendError(SendError):
    """Nothing was accepted: refused or timed out before the request left, or AT answered
    HTTP 5xx/429. Safe to send again later."""

    retryable = True


class PermanentSendError(SendError):
    """AT refused the request itself (bad credentials, bad sender id, a number the SDK
    rejects before sending). Sending it again will fail the same way."""

    retryable = False


class UnknownOutcome(SendError):
    """The request left but no readable answer came back: a read timeout, a dropped connection,
    or an answer of a shape we do not know (not JSON, no recipient list, a row without a usable
    ``statusCode``). AT may have sent it and has no idempotency key: reconcile, never resend
    at once."""

    retryable = False


@dataclass(frozen=True)
class RecipientResult:
    phone: str
    status_code: int | None
    status: str
    message_id: str | None
    cost: str | None

    @property
    def accepted(self) -> bool:
        return self.status_code in ACCEPTED

    @property
    def retryable(self) -> bool:
        return self.status_code in RETRYABLE_CODES

    @property
    def blacklisted(self) -> bool:
        return self.status_code == BLACKLISTED

    @property
    def out_of_credit(self) -> bool:
        return self.status_code == INSUFFICIENT_BALANCE


RECIPIENT_LIMITS = {"message_id": AT_ID_CHARS, "status": 64, "cost": 32}


def _present(value, limit: int) -> str | None:
    """AT writes the string 'None' for a missing messageId; that is no id. Whole or None."""
    if value in (None, "", "None", "0") or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return text if text and len(text) <= limit and text.isprintable() else None


def _excerpt(body) -> str:
    return repr(str(body)[:120])


def _recipient(row) -> RecipientResult:
    """One row of ``Recipients``; :class:`UnknownOutcome` if it is not one we can read."""
    if not isinstance(row, dict):
        raise UnknownOutcome(f"AT's recipient row is not an object: {_excerpt(row)}")
    code = row.get("statusCode")
    number = _integer(code)
    if number is None or not 0 <= number <= 999:
        raise UnknownOutcome(f"AT's statusCode is not a code: {_excerpt(code)}")
    phone = row.get("number")
    if not isinstance(phone, str) or not phone:
        raise UnknownOutcome("AT's recipient row names no number")
    status = row.get("status")
    status = str(status) if isinstance(status, str | int) and status != "" else STATUS_NAMES.get(number, "")
    lim = RECIPIENT_LIMITS
    return RecipientResult(phone, number, status[:lim["status"]], _present(row.get("messageId"), lim["message_id"]),
                           _present(row.get("cost"), lim["cost"]))


def _parse_recipients(body, recipients: list[str]) -> list[RecipientResult]:
    """AT's answer → one result per recipient, in ``recipients`` order. An answer without a
    list of readable rows raises :class:`UnknownOutcome`: the request left, so AT may have
    sent it."""
    data = body.get("SMSMessageData") if isinstance(body, dict) else None
    rows = data.get("Recipients") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise UnknownOutcome(f"AT's answer holds no recipient list: {_excerpt(body)}")
    by_number = {result.phone: result for result in map(_recipient, rows)}
    # A recipient AT did not mention was not accepted: AT says why in Message (e.g. InvalidSenderId).
    message = data.get("Message")
    message = str(message) if message not in (None, "") else "not in AT's answer"
    return [by_number.get(r) or RecipientResult(r, None, message[:RECIPIENT_LIMITS["status"]], None, None)
            for r in recipients]


class AtSender:
    """Sends SMS through the official SDK; ``base_url`` (AT_API_URL) points it at any AT-compatible
    server. One instance per runtime."""

    simulated = False

    def __init__(self, username: str, api_key: str, sender_id: str | None = None,
                 base_url: str | None = None, timeout: tuple[float, float] = (3.05, 9.05), session=None):
        from africastalking.SMS import SMSService

        self._sms = SMSService(username, api_key)
        if session is not None:
            _post_through(self._sms, session)
        if base_url:
            # The SDK's only knobs for its endpoints (premium SMS go to the content host).
            self._sms._baseUrl = self._sms._contentUrl = base_url.rstrip("/")
        self._sender_id = sender_id or None
        self._timeout = timeout

    def send(self, message: str, recipients: list[str], bulk: bool = False, sender: str | None = None,
             link_id: str | None = None) -> list[RecipientResult]:
        """Send one text to E.164 ``recipients``; raise a :class:`SendError` if AT gave no verdict.
        ``sender``: the shortcode to send from instead of AT_SENDER_ID (a reply goes from the
        shortcode the citizen texted); with ``link_id`` it is a premium reply (AT's linkId)."""
        import requests
        from africastalking.Service import AfricasTalkingException

        try:
            if link_id and sender:
                body = self._sms.send_premium(message, sender, recipients, link_id=link_id,
                                              timeout=self._timeout)
            else:
                body = self._sms.send(message, recipients, sender_id=sender or self._sender_id,
                                      enqueue=bulk, timeout=self._timeout)
        except requests.exceptions.JSONDecodeError:  # a ValueError too, but the request left
            raise UnknownOutcome("AT answered JSON that does not parse") from None
        except ValueError as exc:  # the SDK's own number check: nothing was sent
            raise PermanentSendError(str(exc)) from None
        except AfricasTalkingException as exc:
            # The SDK hides the HTTP status; AT's 401/400 bodies say what is wrong with the
            # request. Anything else (5xx, 429, gateway pages) is worth a later retry.
            text = str(exc).lower()
            if "authentication" in text or "invalid" in text or "not found" in text:
                raise PermanentSendError(str(exc)[:200]) from None
            raise RetryableSendError(str(exc)[:200]) from None
        except (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError) as exc:
            raise RetryableSendError(type(exc).__name__) from None
        except requests.exceptions.ConnectionError as exc:
            # Refused before the request left is safe to retry; dropped after is not.
            if _never_left(exc):
                raise RetryableSendError(type(exc).__name__) from None
            raise UnknownOutcome(type(exc).__name__) from None
        except requests.exceptions.RequestException as exc:  # ReadTimeout and kin
            raise UnknownOutcome(type(exc).__name__) from None
        return _parse_recipients(body, recipients)


def _post_through(service, session) -> None:
    """Make the SDK ``service`` POST through ``session`` (a ``requests.Session``): one kept-alive
    connection per worker instead of a new TCP (and TLS) connection per request, as the SDK's
    module-level ``requests.post`` opens. The SDK has no knob for it: its POST is the private
    static ``Service.__make_post_request``, looked up on the instance, so the instance gets its own.
    The session must not retry a POST (the default adapter does not): a request that may have
    left is an unknown outcome, never sent again by the transport."""
    from africastalking.Service import Service

    name = "_Service__make_post_request"
    if not hasattr(Service, name):  # a new SDK: fail loudly rather than quietly open a connection each time
        raise TypeError("the africastalking SDK no longer posts through Service.__make_post_request")

    def post(url, headers, data, params, callback=None, timeout=None):
        res = session.post(url=url, headers=headers, params=params, data=data, timeout=timeout)
        if callback is None or callback == {}:
            return res
        callback(res)

    setattr(service, name, post)


def _never_left(exc: Exception) -> bool:
    from urllib3.exceptions import NewConnectionError

    seen, cause = set(), exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, NewConnectionError | ConnectionRefusedError):
            return True
        reason = getattr(cause, "reason", None)
        cause = reason if isinstance(reason, BaseException) else (cause.__cause__ or cause.__context__)
        if cause is None and exc.args and isinstance(exc.args[0], BaseException):
            cause = exc.args[0]
            exc = cause
    return False


class SimulatedSender:
    """Development default (no AT credentials): every recipient 'accepted', nothing leaves."""

    simulated = True

    def send(self, message: str, recipients: list[str], bulk: bool = False, sender: str | None = None,
             link_id: str | None = None) -> list[RecipientResult]:
        import uuid

        return [RecipientResult(phone, 101, "Simulated", f"SIM-{uuid.uuid4().hex}", None) for phone in recipients]


def account_balance(username: str, api_key: str, base_url: str | None = None,
                    timeout: tuple[float, float] = (3.05, 9.05)) -> str:
    """The account's balance as AT writes it (``ZAR 120.00``): one cheap authenticated call (the
    SDK's Application data fetch), to learn whether AT accepts these credentials. Raises
    :class:`PermanentSendError` when AT refuses them, :class:`RetryableSendError` when AT cannot
    be reached, and :class:`UnknownOutcome` for an answer of a shape we do not know."""
    import requests
    from africastalking.Application import ApplicationService
    from africastalking.Service import AfricasTalkingException

    service = ApplicationService(username, api_key)
    if base_url:
        service._baseUrl = base_url.rstrip("/")  # the SDK's only knob, as for SMS
    try:
        body = service.fetch_application_data(timeout=timeout)
    except AfricasTalkingException as exc:
        raise PermanentSendError(str(exc)[:200] or "refused") from None
    except requests.exceptions.RequestException as exc:
        raise RetryableSendError(type(exc).__name__) from None
    data = body.get("UserData") if isinstance(body, dict) else None
    balance = data.get("balance") if isinstance(data, dict) else None
    if not isinstance(balance, str):
        raise UnknownOutcome(f"AT's account data holds no balance: {_excerpt(body)}")
    return balance


def make_sender(settings, session=None):
    """The sender for these settings; ``session`` (a ``requests.Session``, the runtime's) carries
    AT requests over one kept-alive connection."""
    if settings.sms_is_simulated:
        return SimulatedSender()
    return AtSender(settings.AT_USERNAME, settings.AT_API_KEY, settings.AT_SENDER_ID,
                    settings.AT_API_URL or None, timeout=(3.05, settings.AT_TIMEOUT_SECONDS), session=session)

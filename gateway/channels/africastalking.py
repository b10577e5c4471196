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

from gateway.phones import InvalidPhone, to_e164

# --- inbound -------------------------------------------------------------------------------


class WebhookError(ValueError):
    """A malformed callback: ``field`` names what is missing or wrong (→ HTTP 400)."""

    def __init__(self, field: str, problem: str = "missing"):
        super().__init__(f"{field}: {problem}")
        self.field = field


def _required(form, name: str) -> str:
    value = form.get(name)
    if value is None or not str(value).strip():
        raise WebhookError(name)
    return str(value).strip()


def _phone(form, name: str) -> str:
    try:
        return to_e164(_required(form, name))
    except InvalidPhone as exc:
        raise WebhookError(name, str(exc)) from None


@dataclass(frozen=True)
class UssdHop:
    session_id: str
    service_code: str
    phone: str  # E.164
    network_code: str
    text: str  # every input so far joined by '*'; '' on the first hop

    @property
    def inputs(self) -> list[str]:
        return self.text.split("*") if self.text else []

    @property
    def last_input(self) -> str | None:
        """The newest input (the final '*' segment), or None on the first hop."""
        return self.text.rsplit("*", 1)[-1] if self.text else None


def parse_ussd(form) -> UssdHop:
    return UssdHop(
        session_id=_required(form, "sessionId")[:128],
        service_code=(form.get("serviceCode") or "").strip(),
        phone=_phone(form, "phoneNumber"),
        network_code=(form.get("networkCode") or "").strip(),
        text=(form.get("text") or "")[:1000],
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


def parse_ussd_event(form) -> UssdEnd:
    phone = None
    if form.get("phoneNumber"):
        phone = _phone(form, "phoneNumber")
    return UssdEnd(
        session_id=_required(form, "sessionId")[:128],
        phone=phone,
        status=(form.get("status") or "").strip()[:32],
        hops=_int(form, "hopsCount"),
        duration_ms=_int(form, "durationInMillis"),
        error=(form.get("errorMessage") or None),
    )


def _int(form, name: str) -> int | None:
    raw = form.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise WebhookError(name, "not a number") from None


_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%d/%m/%Y %H:%M:%S")


def parse_at_date(raw: str | None) -> datetime | None:
    """AT's ``date`` in the forms seen in the wild (ISO with or without zone); None if absent."""
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
            raise WebhookError("date", "unrecognised date format") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class InboundSms:
    at_id: str
    phone: str  # E.164
    to: str
    text: str
    date: datetime | None
    link_id: str | None
    network_code: str | None


def parse_inbound_sms(form) -> InboundSms:
    return InboundSms(
        at_id=_required(form, "id")[:64],
        phone=_phone(form, "from"),
        to=_required(form, "to")[:32],
        text=(form.get("text") or "")[:2000],
        date=parse_at_date(form.get("date")),
        link_id=(form.get("linkId") or None),
        network_code=(form.get("networkCode") or None),
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


def parse_delivery(form) -> DeliveryReport:
    at_status = _required(form, "status")
    phone = _phone(form, "phoneNumber") if form.get("phoneNumber") else None
    return DeliveryReport(
        at_id=_required(form, "id")[:64],
        at_status=at_status[:32],
        status=_STATUS_BY_FOLDED.get(at_status.strip().lower(), "unknown"),
        phone=phone,
        network_code=form.get("networkCode") or None,
        failure_reason=(form.get("failureReason") or None),
        retry_count=_int(form, "retryCount"),
    )


@dataclass(frozen=True)
class OptOut:
    phone: str
    sender_id: str | None


def parse_optout(form) -> OptOut:
    return OptOut(phone=_phone(form, "phoneNumber"), sender_id=form.get("senderId") or None)


# --- outbound ------------------------------------------------------------------------------

ACCEPTED = {100, 101, 102}  # Processed, Sent, Queued
RETRYABLE_CODES = {500, 501, 502}  # InternalServerError, GatewayError, RejectedByGateway
BLACKLISTED = 406  # UserInBlacklist: the number opted out with the network/AT
STATUS_NAMES = {
    100: "Processed", 101: "Sent", 102: "Queued", 401: "RiskHold", 402: "InvalidSenderId",
    403: "InvalidPhoneNumber", 404: "UnsupportedNumberType", 405: "InsufficientBalance",
    406: "UserInBlacklist", 407: "CouldNotRoute", 409: "DoNotDisturbRejection",
    500: "InternalServerError", 501: "GatewayError", 502: "RejectedByGateway",
}


class SendError(Exception):
    retryable = False


class RetryableSendError(SendError):
    retryable = True


class PermanentSendError(SendError):
    retryable = False


class UnknownOutcome(SendError):
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


def _present(value) -> str | None:
    """AT writes the string 'None' for a missing messageId; that is no id."""
    return None if value in (None, "", "None", "0") else str(value)


def _parse_recipients(body, recipients: list[str]) -> list[RecipientResult]:
    if not isinstance(body, dict):
        raise UnknownOutcome(f"AT answered without JSON: {str(body)[:120]!r}")
    rows = (body.get("SMSMessageData") or {}).get("Recipients") or []
    by_number = {}
    for row in rows:
        code = row.get("statusCode")
        code = int(code) if code is not None else None
        number = row.get("number") or ""
        by_number[number] = RecipientResult(number, code, row.get("status") or STATUS_NAMES.get(code, ""),
                                            _present(row.get("messageId")), _present(row.get("cost")))
    missing = [r for r in recipients if r not in by_number]
    results = [by_number[r] for r in recipients if r in by_number]
    # A recipient AT did not mention was not accepted: AT says why in Message (e.g. InvalidSenderId).
    message = (body.get("SMSMessageData") or {}).get("Message") or "not in AT's answer"
    results += [RecipientResult(r, None, message[:64], None, None) for r in missing]
    return results


class AtSender:
    """Sends SMS through the official SDK; ``base_url`` (AT_API_URL) points it at any AT-compatible
    server. One instance per runtime."""

    simulated = False

    def __init__(self, username: str, api_key: str, sender_id: str | None = None,
                 base_url: str | None = None, timeout: tuple[float, float] = (3.05, 9.05)):
        from africastalking.SMS import SMSService

        self._sms = SMSService(username, api_key)
        if base_url:
            self._sms._baseUrl = base_url.rstrip("/")  # the SDK's only knob for its endpoint
        self._sender_id = sender_id or None
        self._timeout = timeout

    def send(self, message: str, recipients: list[str], bulk: bool = False) -> list[RecipientResult]:
        """Send one text to E.164 ``recipients``; raise a :class:`SendError` if AT gave no verdict."""
        import requests
        from africastalking.Service import AfricasTalkingException

        try:
            body = self._sms.send(message, recipients, sender_id=self._sender_id, enqueue=bulk,
                                  timeout=self._timeout)
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

    def send(self, message: str, recipients: list[str], bulk: bool = False) -> list[RecipientResult]:
        import uuid

        return [RecipientResult(phone, 101, "Simulated", f"SIM-{uuid.uuid4().hex}", None) for phone in recipients]


def make_sender(settings):
    if settings.sms_is_simulated:
        return SimulatedSender()
    return AtSender(settings.AT_USERNAME, settings.AT_API_KEY, settings.AT_SENDER_ID,
                    settings.AT_API_URL or None, timeout=(3.05, settings.AT_TIMEOUT_SECONDS))

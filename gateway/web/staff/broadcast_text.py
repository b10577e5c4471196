"""How the broadcast pages word the domain's numbers: a target with its centres' names, the
start ("starts Mon 7 Dec 08:00 (quiet hours)"; on the confirm page in full, "Thursday 10
December 2026, 10:00 SAST"), the progress percentage, the delivery summary with Africa's
Talking's failure reasons in plain words (:data:`REASONS`), and on the list whether a
broadcast's figures have settled (:func:`settled`) and how often they are asked again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.clock import SAST
from gateway.staff import broadcasts as bc
from gateway.staff.targets import named_centres, parse

# AT's reasons (delivery reports' failureReason, send status names) and our own, for people.
REASONS = {
    "InsufficientCredit": "Our SMS account ran out of credit.",
    "InsufficientBalance": "Our SMS account ran out of credit.",
    "UserInBlackList": "The person has blocked bulk messages with their network.",
    "UserInBlacklist": "The person has blocked bulk messages with their network.",
    "DoNotDisturbRejection": "The person has asked their network for no bulk messages.",
    "AbsentSubscriber": "The phone was off or out of coverage until the network gave up.",
    "DeliveryFailure": "The network could not deliver it.",
    "UserIsInactive": "The number is no longer in use.",
    "UserDoesNotExist": "The number does not exist on the network.",
    "UserAccountSuspended": "The person's phone account is suspended.",
    "InvalidPhoneNumber": "The number is not a valid phone number.",
    "UnsupportedNumberType": "The number cannot receive SMS (for example a landline).",
    "CouldNotRoute": "The network could not be reached.",
    "RiskHold": "Africa's Talking held the message for a risk check.",
    "InvalidSenderId": "Our sender name was refused by the network.",
    "OutcomeUnknown": "We could not tell whether it left, so it was not sent twice.",
    "RetryDeadline": "The SMS service could not be reached in time; we stopped trying.",
    "OptedOut": "The person opted out (STOP) before it went.",
    "Cancelled": "The broadcast was cancelled before it went.",
}
LIVE = ("approved", "scheduled", "sending")  # worth watching every second
FAST_POLL_MS, SLOW_POLL_MS = 1000, 15000
LIST_POLL_MS, REPORTS_POLL_MS = 3000, 10000  # the list: a row that moves; one waiting for reports
# A finished broadcast's figures still move while delivery reports come in; after this long
# without a change the rest are not coming (AT gives up on a phone within hours) and the list stops asking.
REPORTS_WAIT = timedelta(hours=1)
WAITS_FOR_A_PERSON = ("draft", "pending_approval", "rejected")  # nothing moves until someone acts


def plain_reason(reason: str) -> str:
    return REASONS.get(reason, f"Not delivered ({reason}).")


def when(dt: datetime) -> str:
    """``Mon 7 Dec 08:00`` in South African time (a start is never a year away: the weekday
    and date say which day)."""
    local = bc.utc(dt).astimezone(SAST)
    return f"{local:%a} {local.day} {local:%b %H:%M}"


def asked_text(at: datetime | None) -> str:
    """The send time asked for, in words with its year (``Thu 10 Dec 2026 09:00``), so a date
    read the wrong way round shows at once; '' for "send now"."""
    if at is None:
        return ""
    local = bc.utc(at).astimezone(SAST)
    return f"{local:%a} {local.day} {local:%b} {local.year} {local:%H:%M}"


def full_when(dt: datetime) -> str:
    """``Thursday 10 December 2026, 10:00 SAST``: the confirm page's start, nothing abbreviated."""
    local = bc.utc(dt).astimezone(SAST)
    return f"{local:%A} {local.day} {local:%B} {local.year}, {local:%H:%M} SAST"


def confirm_start(start: bc.Start, asked: datetime | None) -> str:
    """When a checked broadcast starts, for the confirm page: "now (…)", or the moment in full,
    with why it is later than asked when quiet hours moved it."""
    if start.now:
        return f"Now ({full_when(start.at)})"
    if start.held:
        because = f"you asked for {full_when(asked)}" if asked else "you asked for now"
        return f"{full_when(start.at)} (quiet hours: {because})"
    return full_when(start.at)


def start_text(start: bc.Start | None, status: str = "") -> str:
    """'starts now', 'starts Mon 7 Dec 08:00 (quiet hours)', 'resumes …' — or '' once started."""
    if start is None:
        return ""
    verb = "resumes" if status == "paused" else "starts"
    if status in ("draft", "pending_approval"):
        verb = "if approved now, starts"
    if start.now:
        return f"{verb} now"
    return f"{verb} {when(start.at)}{' (quiet hours)' if start.held else ''}"


def describe_target(spec: str, centre_names: dict[int, str]) -> str:
    """``centre:3,7`` → ``Maponya Mall Thusong, Kagiso Thusong``; other kinds as typed."""
    target = parse(spec)
    ids = named_centres(target)
    if ids is None:
        return "all subscribers" if target.kind == "all" else f"{target.kind}: {target.value}"
    return ", ".join(centre_names.get(i, f"centre {i}") for i in sorted(ids))


@dataclass(frozen=True)
class Shown:
    """A broadcast's page, worded: its target, counts, percentage, start and summary."""

    target: str
    counts: dict[str, int]
    expected: int
    percent: int
    start: str
    finished: bool
    reasons: list[tuple[str, str, int]]  # (reason, in plain words, rows)
    poll_ms: int  # how often the page's script asks again (0: never)


def shown(rt, row, target: str) -> Shown:
    counts = bc.progress(rt, row.id)
    expected = max(row.recipients or 0, counts["total"])
    done = counts["total"] - counts["queued"]
    finished = row.status in bc.DONE
    if row.status == "sent" or (finished and counts["total"] and not counts["queued"]):
        percent = 100
    else:
        percent = int(100 * done / expected) if expected else 0
        if row.fanned_out_at is None:
            percent = min(percent, 99)  # rows still being written: not done whatever the sum says
    reasons = [(r, plain_reason(r), n) for r, n in bc.failures(rt, row.id)] if finished or counts["failed"] else []
    start = bc.start_of(rt, row)
    return Shown(target, counts, expected, percent, start_text(start, row.status), finished, reasons,
                 poll_ms(rt, row, start))


def poll_ms(rt, row, start: bc.Start | None) -> int:
    """How often the page's script asks for progress: every second while it moves or is about
    to, rarely while paused or starting later, never once finished or waiting for a person."""
    if row.status in ("paused", "scheduled") and start and (start.at - rt.clock.now()).total_seconds() > 60:
        return SLOW_POLL_MS
    if row.status in LIVE or row.status == "paused":
        return FAST_POLL_MS
    return 0


def settled(rt, row, counts: dict[str, int]) -> bool:
    """Whether ``row``'s figures on the list will not move by themselves any more: it waits for
    a person, or it is finished with nothing waiting and no delivery report still due (none
    sent without one, or none for :data:`REPORTS_WAIT`)."""
    if row.status in WAITS_FOR_A_PERSON:
        return True
    if row.status not in bc.DONE or counts["queued"]:
        return False
    return not counts["sent"] or rt.clock.now() - bc.utc(row.updated_at) > REPORTS_WAIT


def list_poll_ms(rt, row, counts: dict[str, int]) -> int:
    """How often the list asks for a row again: 0 once :func:`settled`; rarely while it waits
    to start or for reports; every few seconds while it moves."""
    if settled(rt, row, counts):
        return 0
    if row.status in bc.DONE:
        return REPORTS_POLL_MS
    start = bc.start_of(rt, row)
    if row.status in ("paused", "scheduled") and start and (start.at - rt.clock.now()).total_seconds() > 60:
        return SLOW_POLL_MS
    return LIST_POLL_MS

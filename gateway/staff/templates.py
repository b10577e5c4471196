"""Message templates: wording staff keep to start a broadcast or a visit notice from.

A template is a name, a text and an optional language, kept for one centre or shared
(``centre_id`` None). Starting from one only fills a form: what is sent still goes through
compose, the confirm page and approval (:mod:`gateway.staff.send_check`,
:mod:`gateway.staff.broadcasts`) or the visit's approval (:mod:`gateway.staff.visits`).

Contract:
- Scope: an :class:`~gateway.staff.broadcasts.Actor` limited to some centres (a clerk; an
  approver who lists centres) sees and uses only the shared templates and those of its
  centres (:func:`usable`); any other id is :class:`NotFound`, as if it did not exist. Those
  who see every centre see all.
- Who keeps them (:func:`may_change`): a centre's template is created, changed and deleted by
  anyone who may use it; a shared one only by an approver or an admin (:class:`NotAllowed`),
  since it speaks for every centre.
- :func:`create` and :func:`edit` refuse (:class:`TemplateError`, saying why) an empty name or
  text, a name over :data:`NAME_CHARS` or a text over :data:`TEXT_CHARS` (what compose takes),
  an unknown language, a centre that does not exist or is not the actor's.
- Kinds (:func:`is_notice`): a text with the visit's placeholders (``{service}``, ``{centre}``,
  ``{when}``) is a visit notice's wording and must keep the notice's placeholder rules
  (:func:`~gateway.staff.visit_text.check_notice`); one without starts a broadcast (compose
  refuses the placeholders: only a visit fills them in).
- Nothing here writes the audit log: the web layer does, with what :func:`delete` returns.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from gateway.staff.accounts import ADMIN, APPROVER
from gateway.staff.broadcasts import Actor, BroadcastError
from gateway.staff.targets import TargetError, check_language
from gateway.staff.visit_text import check_notice, placeholders_in
from gateway.store.models import Centre, MessageTemplate, utcnow

NAME_CHARS = MessageTemplate.__table__.c.name.type.length
TEXT_CHARS = 1000  # what the compose form takes
KEEPERS_OF_SHARED = (APPROVER, ADMIN)


class TemplateError(BroadcastError):
    """A template request was refused; the message says why. Subclasses say which kind."""


class NotAllowed(TemplateError):
    """The actor may not do this (a shared template without the role, a centre not theirs)."""


class NotFound(TemplateError):
    """No template has that id (or the actor may not see it)."""


def _has_placeholders(text: str) -> bool:
    try:
        return bool(placeholders_in(text))
    except ValueError:
        return True  # unbalanced braces: judged (and refused) as a notice's wording


def is_notice(row: MessageTemplate) -> bool:
    """Whether ``row`` is a visit notice's wording (it has the visit's placeholders)."""
    return _has_placeholders(row.text)


def usable(actor: Actor, row: MessageTemplate) -> bool:
    """Whether ``actor`` may see and start from ``row``: shared ones, and its centres' ones."""
    scope = actor.scope
    return scope is None or row.centre_id is None or row.centre_id in scope


def may_change(actor: Actor, row: MessageTemplate) -> bool:
    """Whether ``actor`` may change or delete ``row``: a shared one needs an approver or admin."""
    if not usable(actor, row):
        return False
    return row.centre_id is not None or actor.role in KEEPERS_OF_SHARED


def list_for(rt, actor: Actor) -> list[MessageTemplate]:
    """The templates ``actor`` may use: shared ones first, then by centre and name."""
    query = select(MessageTemplate).order_by(MessageTemplate.centre_id.is_not(None), MessageTemplate.centre_id,
                                             MessageTemplate.name, MessageTemplate.id)
    if actor.scope is not None:
        query = query.where(or_(MessageTemplate.centre_id.is_(None), MessageTemplate.centre_id.in_(actor.scope)))
    with rt.sessions() as s:
        return list(s.scalars(query))


def get_for(rt, actor: Actor, template_id: int) -> MessageTemplate:
    """The template, or :class:`NotFound` if there is none or ``actor`` may not use it."""
    with rt.sessions() as s:
        row = s.get(MessageTemplate, template_id)
    if row is None or not usable(actor, row):
        raise NotFound(f"no template {template_id}")
    return row


def _checked(rt, actor: Actor, name: str, text: str, language: str | None,
             centre_id: int | None) -> tuple[str, str, str | None]:
    name, text = " ".join((name or "").split()), (text or "").strip()
    if not name:
        raise TemplateError("give the template a name")
    if len(name) > NAME_CHARS:
        raise TemplateError(f"the name is {len(name)} characters: at most {NAME_CHARS}")
    if not text:
        raise TemplateError("the template's text is empty")
    if len(text) > TEXT_CHARS:
        raise TemplateError(f"the text is {len(text)} characters: at most {TEXT_CHARS}, as for a broadcast")
    if _has_placeholders(text):
        try:
            check_notice(text)
        except ValueError as exc:
            raise TemplateError(f"as a visit notice's wording: {exc}") from None
    try:
        language = check_language(language or None)
    except TargetError as exc:
        raise TemplateError(str(exc)) from None
    _check_place(rt, actor, centre_id)
    return name, text, language


def _check_place(rt, actor: Actor, centre_id: int | None) -> None:
    """Refuse a shared template without the role, and a centre not the actor's or not existing."""
    if centre_id is None:
        if actor.role not in KEEPERS_OF_SHARED:
            raise NotAllowed("only an approver or an administrator may keep a template shared by every centre: "
                             "keep it for your centre")
        return
    scope = actor.scope
    if scope is not None and centre_id not in scope:
        raise NotAllowed(f"centre {centre_id} is not one of your centres")
    with rt.sessions() as s:
        if s.get(Centre, centre_id) is None:
            raise TemplateError(f"no centre with id {centre_id}")


def create(rt, actor: Actor, name: str, text: str, language: str | None = None,
           centre_id: int | None = None) -> MessageTemplate:
    """Keep ``text`` as a template named ``name`` for ``centre_id`` (None: shared)."""
    name, text, language = _checked(rt, actor, name, text, language, centre_id)
    with rt.sessions.begin() as s:
        row = MessageTemplate(name=name, text=text, language=language, centre_id=centre_id,
                              author_id=actor.staff_id)
        s.add(row)
    return row


def _changeable(rt, actor: Actor, template_id: int) -> MessageTemplate:
    row = get_for(rt, actor, template_id)
    if not may_change(actor, row):
        raise NotAllowed("only an approver or an administrator may change or delete a shared template")
    return row


def edit(rt, actor: Actor, template_id: int, name: str, text: str, language: str | None = None,
         centre_id: int | None = None) -> MessageTemplate:
    """Change a template (its place too: both where it was and where it goes must be the actor's)."""
    _changeable(rt, actor, template_id)
    name, text, language = _checked(rt, actor, name, text, language, centre_id)
    with rt.sessions.begin() as s:
        row = s.get(MessageTemplate, template_id)
        if row is None:
            raise NotFound(f"no template {template_id}")
        row.name, row.text, row.language, row.centre_id, row.updated_at = name, text, language, centre_id, utcnow()
    return row


def delete(rt, actor: Actor, template_id: int) -> MessageTemplate:
    """Delete a template (nothing sent or scheduled from it changes); returns what was deleted."""
    row = _changeable(rt, actor, template_id)
    with rt.sessions.begin() as s:
        found = s.get(MessageTemplate, template_id)
        if found is not None:
            s.delete(found)
    return row

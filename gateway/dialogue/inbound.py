"""How the service answers a stored inbound SMS (the workers' :data:`gateway.sms.inbound.Answer`).

Contract: :func:`answer` takes the claimed ``Message`` row, queues at most one reply to it
(:func:`gateway.sms.inbound.reply_to`) and returns the action for the logs and the analytics.
The conversations this package owns are looked at first; everything else is the keyword
grammar (:func:`gateway.sms.inbound.keyword_answer`), given this package's reader of offices'
status today so ``STATUS <place>`` and the ``CENTRE`` line can say it.
"""

from __future__ import annotations

from gateway.dialogue import office_news
from gateway.runtime import Runtime
from gateway.sms import inbound
from gateway.store.models import Message


def answer(rt: Runtime, row: Message) -> str:
    """Answer inbound SMS ``row``; returns the action."""
    return inbound.keyword_answer(rt, row, news=office_news.news)

"""Drive whole USSD journeys through the AT webhook with the Flask test client."""

from __future__ import annotations

import itertools

from menus.catalogue import LANGUAGES
from menus.engine import apology_text
from tests.conftest import TOKEN

# What a caller gets when a hop fails unexpectedly (in every language): never an expected screen.
APOLOGIES = frozenset(apology_text(lang) for lang in LANGUAGES)


def assert_screen(body: str) -> str:
    """``body`` is a ``CON``/``END`` screen and not the apology for a failed hop; returns it."""
    assert body.startswith(("CON ", "END ")), body
    assert body[4:] not in APOLOGIES, f"the hop failed: {body!r}"
    return body

_ids = itertools.count(1)


class Dialer:
    """A phone: ``dial()`` starts a session, ``press(x)`` sends one input, each returns the
    screen text; ``ended`` tells whether the last answer was ``END``."""

    def __init__(self, client, phone: str = "+27821234567", service_code: str = "*134*1234#",
                 failure_expected: bool = False):
        """``failure_expected``: the test breaks a dependency on purpose, so the apology is a
        screen it wants; otherwise an apology fails the test (a crash must not pass as a screen)."""
        self.client, self.phone, self.service_code = client, phone, service_code
        self.failure_expected = failure_expected
        self.session_id = ""
        self.inputs: list[str] = []
        self.screen = ""
        self.ended = False
        self.raw = ""

    @property
    def text(self) -> str:
        return "*".join(self.inputs)

    def _post(self) -> str:
        resp = self.client.post(
            f"/webhooks/at/ussd?token={TOKEN}",
            data={"sessionId": self.session_id, "serviceCode": self.service_code,
                  "phoneNumber": self.phone, "networkCode": "65501", "text": self.text},
        )
        assert resp.status_code == 200, resp.get_data(as_text=True)
        assert resp.mimetype == "text/plain"
        body = resp.get_data(as_text=True)
        assert body.startswith(("CON ", "END ")), body
        if not self.failure_expected:
            assert_screen(body)
        self.raw = body
        self.ended = body.startswith("END ")
        self.screen = body[4:]
        return self.screen

    def dial(self) -> str:
        self.session_id = f"ATUid_test_{next(_ids)}"
        self.inputs = []
        return self._post()

    def press(self, *keys: str) -> str:
        for key in keys:
            assert not self.ended, f"session already ended: {self.screen!r}"
            self.inputs.append(key)
            self._post()
        return self.screen

    def retry(self) -> str:
        """AT repeats the last hop unchanged."""
        return self._post()

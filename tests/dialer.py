"""Drive whole USSD journeys through the AT webhook with the Flask test client."""

from __future__ import annotations

import itertools

from tests.conftest import TOKEN

_ids = itertools.count(1)


class Dialer:
    """A phone: ``dial()`` starts a session, ``press(x)`` sends one input, each returns the
    screen text; ``ended`` tells whether the last answer was ``END``."""

    def __init__(self, client, phone: str = "+27821234567", service_code: str = "*134*1234#"):
        self.client, self.phone, self.service_code = client, phone, service_code
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

"""Serve the app on a loopback port (for callbacks from the fake AT and for the browser)."""

from __future__ import annotations

import threading
from contextlib import contextmanager


@contextmanager
def serving(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()

# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Test helpers around the sandbox, shared by the add-on's Odoo tests
(``from ..sandbox.testing import ...``) and the end-to-end tests
(``from sandbox.testing import ...``). Standard library only."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["RecordingServer", "SandboxRequests", "cancelled_at_carrier"]


class SandboxRequests:
    """What the sandbox receives, recorded at its dispatcher (it runs in the
    test's process): (method, raw path, Authorization header) per request,
    whatever it answers."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.calls = []

    def __enter__(self):
        original = self.sandbox.handle

        def handle(method, target, headers, body):
            self.calls.append((method, target, headers.get("Authorization")))
            return original(method, target, headers, body)

        self.sandbox.handle = handle
        return self

    def __exit__(self, *exc_info):
        del self.sandbox.handle  # back to the class's method

    def paths(self, needle=""):
        return [path for _method, path, _auth in self.calls if needle in path]


def cancelled_at_carrier(sandbox, shipment_id):
    """Whether the sandbox holds the booking as cancelled (its booking answer
    does not say)."""
    return sandbox.state.is_cancelled(shipment_id)


class _RecordingHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.seen.append((self.command, self.path, dict(self.headers)))
        body = json.dumps({"carrier": "attacker"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        """Silent."""


class RecordingServer:
    """A host an attacker controls, on loopback: records every request
    (method, path, headers) in ``seen``."""

    def __enter__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _RecordingHandler)
        self.server.seen = []
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        return self

    def __exit__(self, *exc_info):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    @property
    def seen(self):
        return self.server.seen

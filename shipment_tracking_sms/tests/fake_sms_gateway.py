# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A Twilio-style Messages API on loopback, for the tests (standard library)."""

import base64
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

PATH_RE = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")


class FakeSmsGateway:
    """Records every request; ``fail_next`` answers the next N requests with
    ``fail_status`` (500 unless set), ``fail_always`` every one of them;
    ``drop_next`` closes the connection of the next N requests without an
    answer (the message counts as taken);
    ``hold()`` keeps every request waiting, once recorded, until ``release()``
    (a caller that dies meanwhile never gets its answer)."""

    def __init__(self, account_sid="ACtest", auth_token="secret-token"):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.requests = []
        self.messages = []
        self.fail_next = 0
        self.fail_status = 500
        self.fail_always = False
        self.drop_next = 0
        self._released = threading.Event()
        self._released.set()
        self._arrived = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_port}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def reset(self):
        self.release()
        self.requests.clear()
        self.messages.clear()
        self.fail_next = 0
        self.fail_status = 500
        self.fail_always = False
        self.drop_next = 0

    def hold(self):
        self._released.clear()

    def release(self):
        self._released.set()

    def wait_for_requests(self, count, timeout=30):
        """Wait until ``count`` requests were recorded; return whether they were."""
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.requests) >= count, timeout)

    def _handler(self):
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, payload):
                body = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    # The caller is gone (killed while its request was held).
                    self.close_connection = True

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {
                    k: v[0]
                    for k, v in parse_qs(self.rfile.read(length).decode()).items()
                }
                with gateway._arrived:
                    gateway.requests.append({"path": self.path, "form": form})
                    gateway._arrived.notify_all()
                gateway._released.wait()
                match = PATH_RE.match(self.path)
                if not match:
                    return self._answer(404, {"code": 20404, "message": "Not found"})
                expected = base64.b64encode(
                    f"{gateway.account_sid}:{gateway.auth_token}".encode()
                ).decode()
                if (
                    match["sid"] != gateway.account_sid
                    or self.headers.get("Authorization") != f"Basic {expected}"
                ):
                    return self._answer(401, {"code": 20003, "message": "Authenticate"})
                if gateway.fail_always or gateway.fail_next:
                    gateway.fail_next = max(gateway.fail_next - 1, 0)
                    return self._answer(
                        gateway.fail_status,
                        {
                            "code": 20000 + gateway.fail_status,
                            # Gateways and proxies echo what they were sent.
                            "message": f"Server error on {self.path}",
                        },
                    )
                if not form.get("To", "").startswith("+"):
                    return self._answer(
                        400, {"code": 21211, "message": "Invalid 'To' Phone Number"}
                    )
                sid = f"SM{uuid.uuid4().hex}"
                gateway.messages.append({"sid": sid, **form})
                if gateway.drop_next:
                    gateway.drop_next -= 1
                    self.close_connection = True
                    return None
                return self._answer(201, {"sid": sid, "status": "queued", **form})

        return Handler

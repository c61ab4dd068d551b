# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Client of a Twilio-style Messages API (plain Python, no Odoo)."""

import socket

import requests
from urllib3.exceptions import ProtocolError

# HTTP statuses that say the gateway did not take the message and will not
# mind a second try: rate limited, or (explicitly) unavailable. Any other 5xx,
# from the gateway or a proxy in front of it (500, 502, 504...), may come after
# the message was taken: its fate is unknown.
RETRYABLE_STATUSES = (429, 503)


class SmsGatewayError(Exception):
    """The gateway refused or could not take a message.

    ``transient``: clearly not taken, worth retrying later (no connection,
    429, 503). ``fate_unknown``: the request may have reached the gateway and
    the message may have been sent (no answer, or a 5xx other than 503): it
    must not be retried automatically. ``kind`` says what happened without
    the details of ``str(error)`` (which names the gateway's URL, hence its
    host and account): ``refused``, ``dns``, ``connect_timeout``, ``tls``,
    ``unreachable``, ``no_answer`` or ``http`` (see ``status`` and ``code``)."""

    def __init__(
        self,
        message,
        status=None,
        code=None,
        transient=True,
        fate_unknown=False,
        kind="http",
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.transient = transient and not fate_unknown
        self.fate_unknown = fate_unknown
        self.kind = kind


def _causes(error):
    """The error, what it wraps (requests and urllib3 put the lower error in
    ``args[0]`` or ``reason``) and what it was raised from, depth first."""
    seen = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(
            [
                current.__context__,
                current.__cause__,
                getattr(current, "reason", None),
                current.args[0] if current.args else None,
            ]
        )


def _may_have_arrived(error):
    """Whether a requests error happened after the request was sent: the
    gateway may have taken the message."""
    if isinstance(
        error, requests.ReadTimeout | requests.exceptions.ChunkedEncodingError
    ):
        return True
    if isinstance(error, requests.ConnectionError) and not isinstance(
        error, requests.ConnectTimeout | requests.exceptions.SSLError
    ):
        # requests wraps the connection dropped while waiting for the answer
        # (urllib3's ProtocolError) as a ConnectionError, like a refused one.
        reason = error.args[0] if error.args else None
        return isinstance(reason, ProtocolError)
    return False


def _unreachable_kind(error):
    """Why the request never reached the gateway."""
    if isinstance(error, requests.ConnectTimeout):
        return "connect_timeout"
    if isinstance(error, requests.exceptions.SSLError):
        return "tls"
    causes = list(_causes(error))
    if any(isinstance(cause, socket.gaierror) for cause in causes):
        return "dns"
    if any(isinstance(cause, ConnectionRefusedError) for cause in causes):
        return "refused"
    return "unreachable"


class HttpSmsGateway:
    """``POST {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json``
    with form fields To, From, Body and HTTP basic auth; answers 201 with the
    message ``sid``, errors with ``{"code", "message"}``."""

    def __init__(self, base_url, account_sid, auth_token, sender, timeout=10):
        self.base_url = (base_url or "").rstrip("/")
        self.account_sid = account_sid
        self.sender = sender
        self.timeout = timeout
        self.session = requests.Session()
        self.session.auth = (account_sid or "", auth_token or "")

    def send_message(self, to, body):
        """Send one SMS; return the gateway's message id. Never retried here:
        a second POST could send the message twice."""
        url = f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        try:
            response = self.session.post(
                url,
                data={"To": to, "From": self.sender, "Body": body},
                timeout=self.timeout,
            )
        except requests.RequestException as e:
            if _may_have_arrived(e):
                raise SmsGatewayError(
                    f"no answer from the SMS gateway: {e}",
                    fate_unknown=True,
                    kind="no_answer",
                ) from e
            raise SmsGatewayError(
                f"SMS gateway unreachable: {e}", kind=_unreachable_kind(e)
            ) from e
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        status = response.status_code
        if status in (200, 201) and payload.get("sid"):
            return payload["sid"]
        message = payload.get("message") or response.reason or "no answer"
        raise SmsGatewayError(
            f"SMS gateway error {status}: {message}",
            status=status,
            code=payload.get("code"),
            transient=status in RETRYABLE_STATUSES,
            # A success without a message id, or a server error other than
            # "unavailable": the message may have been taken.
            fate_unknown=(200 <= status < 300 or status >= 500)
            and status not in RETRYABLE_STATUSES,
        )

    def close(self):
        self.session.close()

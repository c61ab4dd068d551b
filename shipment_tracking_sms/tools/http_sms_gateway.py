# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Client of a Twilio-style Messages API (plain Python, no Odoo)."""

import requests
from urllib3.exceptions import ProtocolError


class SmsGatewayError(Exception):
    """The gateway refused or could not take a message.

    ``transient``: worth retrying later (network trouble before the request
    left, 5xx, 429). ``fate_unknown``: the request may have reached the gateway
    but no answer came back (read timeout, connection dropped while waiting):
    the message may have been sent, so it must not be retried automatically."""

    def __init__(
        self, message, status=None, code=None, transient=True, fate_unknown=False
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.transient = transient and not fate_unknown
        self.fate_unknown = fate_unknown


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
                    f"no answer from the SMS gateway: {e}", fate_unknown=True
                ) from e
            raise SmsGatewayError(f"SMS gateway unreachable: {e}") from e
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        if response.status_code in (200, 201) and payload.get("sid"):
            return payload["sid"]
        message = payload.get("message") or response.reason or "no answer"
        raise SmsGatewayError(
            f"SMS gateway error {response.status_code}: {message}",
            status=response.status_code,
            code=payload.get("code"),
            transient=response.status_code >= 500 or response.status_code == 429,
        )

    def close(self):
        self.session.close()

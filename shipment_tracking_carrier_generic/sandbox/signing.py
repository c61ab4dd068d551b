# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Webhook signatures of the carrier protocol.

The carrier signs ``"<timestamp>." + raw body`` with HMAC-SHA256 and the shared
secret, and sends ``X-Shipment-Timestamp: <unix seconds>`` and
``X-Shipment-Signature: sha256=<hex>``. The receiver recomputes the signature
over the raw body it received (never a re-serialised one) and rejects requests
outside its replay window.
"""

import hashlib
import hmac
import time

SIGNATURE_PREFIX = "sha256="
DEFAULT_TOLERANCE = 300


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """Return ``"sha256=" + hex HMAC-SHA256(secret, "<timestamp>." + body)``."""
    message = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify(
    secret: str,
    timestamp: int | str,
    body: bytes,
    signature: str,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Tell whether ``signature`` is the carrier's signature of ``body``.

    False (never an exception) when the secret, timestamp or signature is
    missing or malformed, or when the timestamp is more than ``tolerance``
    seconds away from ``now`` (default: the current Unix time).
    """
    if not secret or not signature or timestamp is None:
        return False
    timestamp = str(timestamp)
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > tolerance:
        return False
    if isinstance(signature, str):
        signature = signature.encode("utf-8", "replace")
    expected = sign(secret, timestamp, body).encode()
    return hmac.compare_digest(expected, signature)

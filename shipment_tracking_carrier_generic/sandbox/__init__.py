# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Sandbox carrier: a fake carrier speaking our JSON-over-HTTP carrier protocol
(``../api/openapi.yaml``), for the connector's tests, the end-to-end tests, the
demo and the benchmarks. Standard library only, no Odoo import.

From Odoo code::

    from odoo.addons.shipment_tracking_carrier_generic.sandbox import SandboxCarrier

    with SandboxCarrier(api_key="k", webhook_url=url, webhook_secret="s") as carrier:
        carrier.url            # http://127.0.0.1:<free port>
        carrier.advance_clock(12)
        carrier.configure(fail_next=1)

As a program, from the add-on folder (the add-on's own ``__init__`` imports
Odoo, so ``python -m shipment_tracking_carrier_generic.sandbox`` cannot work)::

    cd shipment_tracking_carrier_generic
    python -m sandbox --port 8070 [--host 127.0.0.1] [--api-key K]
        [--webhook-url URL] [--webhook-secret S] [--rate-limit RPS]
        [--public-url URL] [--seed N] [--quiet]

Controls (no authentication): ``GET /sandbox/clock``,
``POST /sandbox/clock/advance {"hours": 12}``, ``GET|POST /sandbox/config``,
``POST /sandbox/reset``, ``GET /sandbox/webhooks``.
"""

from .scenarios import SCENARIOS, STATUSES
from .server import DEFAULT_API_KEY, SandboxCarrier
from .signing import sign, verify
from .validation import ApiError

__all__ = [
    "DEFAULT_API_KEY",
    "SCENARIOS",
    "STATUSES",
    "ApiError",
    "SandboxCarrier",
    "sign",
    "verify",
]

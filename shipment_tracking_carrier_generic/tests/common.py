# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import time

from odoo.addons.shipment_tracking.tests.common import ShipmentFixtures

from ..sandbox import SandboxCarrier, sign

API_KEY = "test-key"
SECRET = "test-secret"


class SandboxCarrierMixin(ShipmentFixtures):
    """A real sandbox carrier over loopback HTTP and a generic carrier using it.

    Mixed into TransactionCase or HttpCase. Odoo's tests allow HTTP to
    localhost only, which is all this needs."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = SandboxCarrier(
            port=0, api_key=API_KEY, webhook_secret=SECRET, quiet=True
        ).start()
        cls.addClassCleanup(cls.sandbox.stop)
        cls.generic = cls.env["delivery.carrier"].create(
            {
                "name": "Sandbox",
                "delivery_type": "generic",
                "product_id": cls.delivery_product.id,
                "generic_base_url": cls.sandbox.url,
                "generic_api_key": API_KEY,
                "generic_webhook_secret": SECRET,
                "generic_timeout": 2.0,
                "generic_max_retries": 2,
                "generic_retry_backoff": 0.05,
                "generic_rate_limit": 0,
                "shipment_transit_days": 2,
            }
        )
        cls.warehouse.out_type_id.print_label = True
        # The sandbox's clock runs ahead of ours when a test advances it: take
        # its events up to 20 days ahead (the bound has its own tests).
        cls.env["ir.config_parameter"].set_param(
            "shipment_tracking.event_future_hours", 20 * 24
        )

    def setUp(self):
        super().setUp()
        self.sandbox.reset()

    def _booked(self, scenario="normal", qty=2, packages=0):
        """A delivery validated with the generic carrier, i.e. booked."""
        picking = self._create_delivery(carrier=self.generic, qty=qty)
        self._fill_details(picking)
        if packages:
            box = self.env["stock.package.type"].create(
                {"name": "Box", "packaging_length": 30, "width": 20, "height": 10}
            )
            for line in picking.move_line_ids[:packages]:
                line.result_package_id = self.env["stock.quant.package"].create(
                    {"package_type_id": box.id}
                )
        # The sandbox picks a scenario from the reference unless told.
        self.sandbox.configure(scenario=scenario)
        picking.with_user(self.user_warehouse).button_validate()
        return picking

    @staticmethod
    def _signed_headers(body, secret=SECRET, timestamp=None):
        timestamp = int(time.time()) if timestamp is None else timestamp
        return {
            "Content-Type": "application/json",
            "X-Shipment-Timestamp": str(timestamp),
            "X-Shipment-Signature": sign(secret, timestamp, body),
        }

    @staticmethod
    def _event(number, status, when, event_id=None, **extra):
        return dict(
            {
                "id": event_id or f"evt-{number}-{status}-{when}",
                "tracking_number": number,
                "status": status,
                "description": status.replace("_", " ").capitalize(),
                "occurred_at": when,
                "location": "Brussels, BE",
            },
            **extra,
        )

    @staticmethod
    def _body(*events):
        return json.dumps({"type": "tracking.updated", "events": list(events)}).encode()

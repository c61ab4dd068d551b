# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import datetime, timedelta

from odoo import sql_db
from odoo.tests import HttpCase, new_test_user, tagged

from .common import ShipmentFixtures

# Queries of one portal page, signed in as a portal user, caches warm (the
# second request of the same page), all of the request's statements (session,
# access rules, rendering). Measured on Odoo 18.0 on 2026-11-30 (issue 12):
# 17 for the list, 28 for a shipment's page, the same for 5 rows as for 20
# and for 5 events as for 40. The budgets are that plus a margin of 3: change
# them on purpose only. What matters first is that the counts do not grow
# with the number of shipments or events (the tests compare two sizes).
LIST_BUDGET = 20
DETAIL_BUDGET = 31


@tagged("post_install", "-at_install")
class TestPortalQueries(ShipmentFixtures, HttpCase):
    """The portal's pages run as many queries for 5 shipments as for 30 (a
    full page), and for 5 carrier events as for 40: nothing is read row by
    row."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer_many = cls.env["res.partner"].create(
            {"name": "Many Parcels Ltd", "email": "many@parcels.example"}
        )
        for login, partner in (
            ("st_portal_few", cls.customer),
            ("st_portal_many", cls.customer_many),
        ):
            new_test_user(
                cls.env,
                login,
                groups="base.group_portal",
                partner_id=partner.id,
                name=partner.name,
                email=partner.email,
            )
        cls.few = cls._dispatched_deliveries(cls.customer, 5, "FEW")
        cls.many = cls._dispatched_deliveries(cls.customer_many, 30, "MANY")

    @classmethod
    def _dispatched_deliveries(cls, partner, count, prefix):
        """``count`` dispatched deliveries of ``partner``, every third one
        with a carrier scan, every third one delivered: the rows of a list
        take every path of the template."""
        pickings = cls.env["stock.picking"]
        for i in range(count):
            picking = cls._create_delivery(partner=partner)
            cls._fill_details(picking)
            picking.carrier_tracking_ref = f"{prefix}-{i:03d}"
            picking.with_user(cls.user_warehouse).button_validate()
            pickings |= picking
        for i, picking in enumerate(pickings):
            if i % 3:
                cls._scans(
                    picking, 1, final="delivered" if i % 3 == 2 else "in_transit"
                )
        return pickings

    @classmethod
    def _scans(cls, picking, count, final="in_transit"):
        """``count`` carrier scans on ``picking``, an hour apart, the last one
        of status ``final``."""
        start = (picking.shipment_date or datetime.now()) + timedelta(minutes=1)
        cls.env["stock.picking"]._shipment_apply_carrier_events(
            [
                {
                    "tracking_ref": picking.carrier_tracking_ref,
                    "state": final if i == count - 1 else "in_transit",
                    "carrier_status_code": "scan",
                    "carrier_status_text": f"Scan {i}",
                    "location": f"Hub {i}",
                    "event_time": start + timedelta(hours=i),
                }
                for i in range(count)
            ],
            "manual",
        )

    def _page_queries(self, url):
        """Queries of the second request of ``url`` (the first one fills the
        caches: templates, assets, access rules)."""
        self.url_open(url, allow_redirects=False)
        before = sql_db.sql_counter
        response = self.url_open(url, allow_redirects=False)
        queries = sql_db.sql_counter - before
        self.assertEqual(response.status_code, 200, url)
        return queries, response.text

    def test_list_queries_do_not_grow_with_shipments(self):
        self.authenticate("st_portal_few", "st_portal_few")
        few, text = self._page_queries("/my/shipments")
        self.assertEqual(text.count("o_portal_shipment_row"), 5)
        self.authenticate("st_portal_many", "st_portal_many")
        many, text = self._page_queries("/my/shipments")
        self.assertEqual(text.count("o_portal_shipment_row"), 20)
        self.assertEqual(few, many, "the list reads something shipment by shipment")
        self.assertLessEqual(many, LIST_BUDGET)

    def test_detail_queries_do_not_grow_with_events(self):
        short, long = self.many[0], self.many[3]
        self._scans(short, 5)
        self._scans(long, 40)
        self.authenticate("st_portal_many", "st_portal_many")
        few, text = self._page_queries(f"/my/shipments/{short.id}")
        self.assertEqual(text.count("o_shipment_event "), 5)
        many, text = self._page_queries(f"/my/shipments/{long.id}")
        self.assertEqual(text.count("o_shipment_event "), 40)
        self.assertEqual(few, many, "the page reads something event by event")
        self.assertLessEqual(many, DETAIL_BUDGET)

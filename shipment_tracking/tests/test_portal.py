# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date, datetime, timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged

from ..controllers.portal import ShipmentPortal
from .common import ShipmentFixtures


@tagged("post_install", "-at_install")
class TestPortal(ShipmentFixtures, HttpCase):
    """Customers follow their parcels in the portal. Two customers with a
    portal user and a dispatched shipment each; A's shipment has a carrier
    event."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer_b = cls.env["res.partner"].create(
            {"name": "Quay Traders", "email": "buyer@quay.example"}
        )
        cls.portal_a = new_test_user(
            cls.env,
            "st_portal_a",
            groups="base.group_portal",
            partner_id=cls.customer.id,
            name=cls.customer.name,
            email=cls.customer.email,
        )
        cls.portal_b = new_test_user(
            cls.env,
            "st_portal_b",
            groups="base.group_portal",
            partner_id=cls.customer_b.id,
            name=cls.customer_b.name,
            email=cls.customer_b.email,
        )
        cls.shipment_a = cls._dispatched_delivery("SHP/TOUR/0001", "PTL-A-001")
        cls.shipment_b = cls._dispatched_delivery(
            "SHP/TEST/0002", "PTL-B-002", partner=cls.customer_b
        )
        cls._carrier_event(
            "PTL-A-001",
            "Arrived at hub Tourville",
            location="Tourville, FR",
            event_time=datetime(2026, 11, 20, 9, 30),
        )

    @classmethod
    def _dispatched_delivery(cls, shipment_ref, tracking_ref, **order_kwargs):
        picking = cls._create_delivery(**order_kwargs)
        cls._fill_details(picking)
        picking.with_user(cls.user_logistics).write(
            {"shipment_ref": shipment_ref, "carrier_tracking_ref": tracking_ref}
        )
        picking.with_user(cls.user_warehouse).button_validate()
        return picking

    @classmethod
    def _carrier_event(cls, tracking_ref, text, state="in_transit", **values):
        values.setdefault("event_time", datetime(2026, 11, 21, 8, 0))
        return cls.env["stock.picking"]._shipment_apply_carrier_events(
            [
                dict(
                    values,
                    tracking_ref=tracking_ref,
                    state=state,
                    carrier_status_text=text,
                )
            ],
            "manual",
        )

    def _get(self, url):
        return self.url_open(url, allow_redirects=False)

    def test_owner_sees_list_and_detail(self):
        self.assertEqual(self.shipment_a.shipment_state, "in_transit")
        token = self.shipment_a._portal_ensure_token()
        self.authenticate("st_portal_a", "st_portal_a")
        counters = self.make_jsonrpc_request(
            "/my/counters", {"counters": ["shipment_count"]}
        )
        self.assertEqual(counters["shipment_count"], 1)
        self.assertIn('href="/my/shipments"', self._get("/my").text)

        response = self._get("/my/shipments")
        self.assertEqual(response.status_code, 200)
        self.assertIn("SHP/TOUR/0001", response.text)
        self.assertIn("PTL-A-001", response.text)
        self.assertIn(
            f"/my/shipments/{self.shipment_a.id}?access_token={token}", response.text
        )
        self.assertNotIn("SHP/TEST/0002", response.text)
        self.assertNotIn("PTL-B-002", response.text)

        response = self._get(self.shipment_a.access_url)
        self.assertEqual(response.status_code, 200)
        for text in (
            "SHP/TOUR/0001",
            self.shipment_a.sale_id.name,
            "Test Express",
            "PTL-A-001",
            "Arrived at hub Tourville",
            "Tourville, FR",
            "In Transit",
            'id="discussion"',
            # Posting in the chatter needs the token, even without it in the URL.
            f'data-token="{token}"',
        ):
            self.assertIn(text, response.text)
        self.assertNotIn("Proof of Delivery", response.text)
        # A headline, a progress bar and a list, no table to scroll sideways.
        # (The headline's words depend on the day: see test_customer_page.)
        self.assertRegex(response.text, r"o_shipment_headline_title[^>]*>[^<\s][^<]+<")
        self.assertRegex(
            response.text, r"o_shipment_step_current o_shipment_step_in_transit"
        )
        self.assertNotIn("<table", response.text)
        # The carrier's page opens in a new tab.
        self.assertRegex(
            response.text,
            r'<a [^>]*target="_blank"[^>]*href="https://track\.example/t\?n=PTL-A-001"',
        )

    def test_ready_for_pickup_shows_where_and_until_when(self):
        self.customer.tz = "Europe/Brussels"
        self._carrier_event(
            "PTL-A-001",
            "Available for pickup",
            state="available_for_pickup",
            event_time=datetime(2026, 11, 22, 15, 0),
            pickup_location="Parcel Shop Zuid, Ghent",
            # 17:00 UTC: 18:00 in Brussels.
            pickup_deadline=datetime(2026, 12, 3, 17, 0),
        )
        self.authenticate("st_portal_a", "st_portal_a")
        response = self._get(self.shipment_a.access_url)
        self.assertEqual(response.status_code, 200)
        for text in (
            "Ready for Pickup",
            "text-bg-info",
            "Parcel Shop Zuid, Ghent",
            "12/03/2026 6:00 PM",
        ):
            self.assertIn(text, response.text)

    def test_timeline_newest_first_and_proof_of_delivery(self):
        self._carrier_event(
            "PTL-A-001",
            "Delivered to the front desk",
            state="delivered",
            event_time=datetime(2026, 11, 22, 15, 0),
            pod_signed_by="R. Receiver",
            pod_signature_url="https://pod.example/sign/1",
            pod_photo_url="https://pod.example/photo/1.jpg",
        )
        self.authenticate("st_portal_a", "st_portal_a")
        body = self._get(self.shipment_a.access_url).text
        self.assertLess(
            body.index("Delivered to the front desk"),
            body.index("Arrived at hub Tourville"),
        )
        self.assertIn("Proof of Delivery", body)
        self.assertIn("R. Receiver", body)
        self.assertIn('href="https://pod.example/sign/1"', body)
        self.assertIn('href="https://pod.example/photo/1.jpg"', body)

    def test_other_customer_is_refused(self):
        self.authenticate("st_portal_b", "st_portal_b")
        for url in (
            self.shipment_a.access_url,
            f"{self.shipment_a.access_url}?access_token=wrong",
        ):
            response = self._get(url)
            self.assertEqual(response.status_code, 404)
            self.assertNotIn("PTL-A-001", response.text)
            self.assertNotIn("SHP/TOUR/0001", response.text)
        body = self._get("/my/shipments").text
        self.assertIn("SHP/TEST/0002", body)
        self.assertNotIn("SHP/TOUR/0001", body)
        self.assertNotIn("PTL-A-001", body)
        with self.assertRaises(AccessError):
            self.shipment_a.with_user(self.portal_b).read(["carrier_tracking_ref"])
        self.assertEqual(
            self.shipment_b.with_user(self.portal_b).read(["carrier_tracking_ref"])[0][
                "carrier_tracking_ref"
            ],
            "PTL-B-002",
        )

    def test_public_access_needs_the_token(self):
        response = self._get(self.shipment_a.get_portal_url())
        self.assertEqual(response.status_code, 200)
        self.assertIn("PTL-A-001", response.text)
        self.assertIn("Arrived at hub Tourville", response.text)
        self.assertNotIn("PTL-B-002", response.text)
        for url in (
            self.shipment_a.access_url,
            f"{self.shipment_a.access_url}?access_token=wrong",
            f"{self.shipment_a.access_url}?access_token="
            f"{self.shipment_b._portal_ensure_token()}",
            "/my/shipments/999999999",
        ):
            response = self._get(url)
            self.assertEqual(response.status_code, 404, url)
            self.assertNotIn("PTL-A-001", response.text)
            self.assertNotIn("SHP/TOUR/0001", response.text)
        response = self._get("/my/shipments")
        self.assertEqual(response.status_code, 303)
        self.assertIn("/web/login", response.headers["Location"])

    def test_receipts_are_not_shipments(self):
        receipt = self.env["stock.picking"].create(
            {
                "picking_type_id": self.warehouse.in_type_id.id,
                "partner_id": self.customer.id,
            }
        )
        token = receipt._portal_ensure_token()
        response = self._get(f"/my/shipments/{receipt.id}?access_token={token}")
        self.assertEqual(response.status_code, 404)

    def test_customer_service_opens_the_backend_record(self):
        shipment = self.shipment_a.with_user(self.user_cs)
        self.assertEqual(
            shipment.read(["shipment_ref"])[0]["shipment_ref"], "SHP/TOUR/0001"
        )
        self.assertEqual(shipment._get_access_action()["type"], "ir.actions.act_window")
        portal_action = self.shipment_a.with_user(self.portal_a)._get_access_action()
        self.assertTrue(portal_action["url"].startswith(self.shipment_a.access_url))
        self.authenticate("st_cs", "st_csxxx")
        response = self._get(self.shipment_a.access_url)
        self.assertEqual(response.status_code, 200)
        self.assertIn(
            "/odoo/action-shipment_tracking.stock_picking_shipment_action/"
            f"{self.shipment_a.id}",
            response.text,
        )

    def test_carrier_texts_are_escaped(self):
        self._carrier_event(
            "PTL-A-001",
            "<script>alert(1)</script>",
            location='<img src="x" onerror="alert(2)">',
            event_time=datetime(2026, 11, 22, 8, 0),
        )
        self._carrier_event(
            "PTL-A-001",
            "Delivered",
            state="delivered",
            event_time=datetime(2026, 11, 23, 8, 0),
            pod_signed_by="<b>Bob</b>",
            pod_signature_url="javascript:alert(3)",
            pod_photo_url="https://pod.example/p.jpg",
        )
        self.authenticate("st_portal_a", "st_portal_a")
        body = self._get(self.shipment_a.access_url).text
        self.assertNotIn("<script>alert(1)</script>", body)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", body)
        self.assertNotIn('<img src="x"', body)
        self.assertNotIn("<b>Bob</b>", body)
        self.assertIn("&lt;b&gt;Bob&lt;/b&gt;", body)
        self.assertNotIn("javascript:alert(3)", body)
        self.assertIn('href="https://pod.example/p.jpg"', body)

    def test_pager_and_sorting(self):
        self.assertEqual(ShipmentPortal._shipments_per_page, 20)
        early = self._dispatched_delivery("SHP/TEST/0003", "PTL-A-003")
        pending = self._create_delivery()
        pending.with_user(self.user_logistics).shipment_ref = "SHP/TEST/0004"
        early.with_user(self.user_logistics).expected_delivery_date = date(2026, 1, 2)
        self.shipment_a.with_user(self.user_logistics).expected_delivery_date = date(
            2026, 1, 5
        )
        refs = ["SHP/TOUR/0001", "SHP/TEST/0003", "SHP/TEST/0004"]
        self.authenticate("st_portal_a", "st_portal_a")

        def listed(url):
            response = self._get(url)
            self.assertEqual(response.status_code, 200)
            return [
                ref
                for ref in sorted(refs, key=response.text.find)
                if ref in response.text
            ]

        self.assertEqual(
            listed("/my/shipments?sortby=edd"),
            ["SHP/TEST/0003", "SHP/TOUR/0001", "SHP/TEST/0004"],
        )
        self.assertEqual(listed("/my/shipments?sortby=status")[-1], "SHP/TEST/0004")
        self.assertEqual(listed("/my/shipments?sortby=nonsense")[0], "SHP/TEST/0004")
        with patch.object(ShipmentPortal, "_shipments_per_page", 2):
            first = self._get("/my/shipments?sortby=edd").text
            self.assertIn('href="/my/shipments/page/2?sortby=edd"', first)
            self.assertEqual(
                listed("/my/shipments/page/2?sortby=edd"), ["SHP/TEST/0004"]
            )
        self.assertNotIn("/my/shipments/page/2", self._get("/my/shipments").text)

    def test_sale_order_page_links_its_shipments(self):
        order = self.shipment_a.sale_id
        token = self.shipment_a._portal_ensure_token()
        self.authenticate("st_portal_a", "st_portal_a")
        response = self._get(order.get_portal_url())
        self.assertEqual(response.status_code, 200)
        self.assertIn(
            f"/my/shipments/{self.shipment_a.id}?access_token={token}",
            response.text,
        )
        self.assertIn('<h5 class="mb-1">Shipments</h5>', response.text)
        self.assertRegex(response.text, r"o_shipment_state_badge[^>]*>In Transit<")

    def test_shipment_portal_tour(self):
        self.start_tour("/my", "shipment_portal_tour", login="st_portal_a")
        question = self.env["mail.message"].search(
            [
                ("model", "=", "stock.picking"),
                ("res_id", "=", self.shipment_a.id),
                ("body", "ilike", "When will my parcel arrive?"),
            ]
        )
        self.assertEqual(question.author_id, self.customer)
        self.assertEqual(question.message_type, "comment")


@tagged("post_install", "-at_install")
class TestPortalPageTours(ShipmentFixtures, HttpCase):
    """The customer's page in the browser, from the token link of the
    dispatch email (static/tests/tours/shipment_portal_tour.js): headline,
    progress, day-grouped timeline, parcels, lines, question box, and nothing
    wider than the window. This class runs it at desktop size; its subclass at
    phone size."""

    # Runs on the real clock (see ShipmentFixtures): events are placed
    # relative to now, on two different days in the customer's time zone.
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer.tz = "Europe/Paris"
        cls.picking = cls._create_delivery()
        cls._fill_details(cls.picking)
        # A long number without spaces must wrap, not widen the page.
        cls.tracking_ref = "PTL-" + "7" * 70
        cls.picking.with_user(cls.user_logistics).write(
            {"shipment_ref": "SHP/TOUR/0002", "carrier_tracking_ref": cls.tracking_ref}
        )
        cls.picking.with_user(cls.user_warehouse).button_validate()
        now = fields.Datetime.now()
        cls.env["stock.picking"]._shipment_apply_carrier_events(
            [
                {
                    "tracking_ref": cls.tracking_ref,
                    "event_time": now - timedelta(hours=50),
                    "carrier_status_code": "X-77",
                    "carrier_status_text": "Held at depot for sorting",
                },
                {
                    "tracking_ref": cls.tracking_ref,
                    "event_time": now - timedelta(hours=26),
                    "state": "in_transit",
                    "carrier_status_text": "Arrived at hub Tourville",
                    "location": "Tourville, FR",
                },
            ],
            "manual",
        )

    def test_customer_page_tour(self):
        self.assertEqual(self.picking.shipment_state, "in_transit")
        self.start_tour(self.picking.get_portal_url(), "shipment_portal_page_tour")


@tagged("post_install", "-at_install")
class TestPortalPageToursPhone(TestPortalPageTours):
    """The same tour on a 375 px wide touch screen."""

    browser_size = "375x667"
    touch_enabled = True

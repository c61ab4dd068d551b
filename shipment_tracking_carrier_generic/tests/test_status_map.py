# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, new_test_user, tagged

from .common import SandboxCarrierMixin


@tagged("post_install", "-at_install")
class TestStatusMapCompanies(SandboxCarrierMixin, TransactionCase):
    """A carrier's status table belongs to the carrier's company: Logistics of
    another company cannot remap its codes (e.g. an exception as delivered)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.generic.company_id = cls.company
        cls.company_b = cls.env["res.company"].create({"name": "Status Map Co B"})
        cls.logistics_b = new_test_user(
            cls.env,
            "st_logistics_map_b",
            groups="stock.group_stock_manager",
            company_id=cls.company_b.id,
            company_ids=[(6, 0, cls.company_b.ids)],
        )
        cls.row = cls.generic.generic_status_map_ids.filtered(
            lambda r: r.code == "exception" and not r.subcode
        )

    def test_rows_carry_the_carrier_company(self):
        self.assertEqual(self.row.company_id, self.company)

    def test_other_company_cannot_read_or_remap(self):
        Map = self.env["shipment.tracking.status.map"].with_user(self.logistics_b)
        self.assertFalse(Map.search([("carrier_id", "=", self.generic.id)]))
        with self.assertRaises(AccessError):
            self.row.with_user(self.logistics_b).write({"state": "delivered"})
        self.assertEqual(self.row.state, "exception")

    def test_own_company_remaps(self):
        self.row.with_user(self.user_logistics).write({"state": "in_transit"})
        self.assertEqual(self.row.state, "in_transit")

    def test_shared_carrier_rows_are_shared(self):
        self.generic.company_id = False
        Map = self.env["shipment.tracking.status.map"].with_user(self.logistics_b)
        self.assertTrue(Map.search([("carrier_id", "=", self.generic.id)]))

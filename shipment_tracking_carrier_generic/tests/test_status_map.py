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


@tagged("post_install", "-at_install")
class TestStatusMapCache(SandboxCarrierMixin, TransactionCase):
    """Every carrier event is mapped with the carrier's table: it is read
    once per process, and a changed row maps the next event at once."""

    def _map(self, code, subcode=False):
        event = {"carrier_status_code": code, "carrier_substatus_code": subcode}
        mapped = self.generic._generic_map_events([event])[0]
        return mapped["state"], mapped["incident_kind"]

    def test_the_table_is_read_once(self):
        self._map("exception")
        with self.assertQueryCount(0):
            self.assertEqual(self._map("exception")[0], "exception")

    def test_a_changed_row_maps_at_once(self):
        Map = self.env["shipment.tracking.status.map"]
        row = Map.search(
            [
                ("carrier_id", "=", self.generic.id),
                ("code", "=", "exception"),
                ("subcode", "=", False),
            ]
        )
        self.assertEqual(self._map("exception")[0], "exception")
        row.write({"state": "in_transit"})
        self.assertEqual(self._map("exception")[0], "in_transit")
        self.assertEqual(self._map("held_at_customs"), (False, False))
        added = Map.create(
            {
                "carrier_id": self.generic.id,
                "code": "held_at_customs",
                "state": "exception",
                "incident_kind": "customs",
            }
        )
        self.assertEqual(self._map("held_at_customs"), ("exception", "customs"))
        added.unlink()
        self.assertEqual(self._map("held_at_customs"), (False, False))

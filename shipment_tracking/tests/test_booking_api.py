# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import importlib.util
from datetime import date, datetime

from odoo.exceptions import AccessError
from odoo.modules.module import get_module_path
from odoo.tests import tagged
from odoo.tools import SQL

from .common import ShipmentTrackingCase


@tagged("post_install", "-at_install")
class TestBookingApi(ShipmentTrackingCase):
    """The core API connectors book and cancel through
    (``_shipment_record_booking``, ``_shipment_forget_booking``)."""

    def setUp(self):
        super().setUp()
        self.picking = self._create_delivery()
        self.box = self.env["stock.quant.package"].create({"name": "BOX-1"})

    def test_record_booking_per_parcel_with_estimate(self):
        self.picking.with_user(self.user_warehouse)._shipment_record_booking(
            [("BK-1", self.box), (" BK-2 ", False), ("BK-1", False), ("", False)],
            expected_delivery_date=date(2026, 12, 1),
        )
        self.assertRecordValues(
            self.picking.tracking_number_ids.sorted("name"),
            [
                {"name": "BK-1", "package_id": self.box.id, "is_handover": False},
                {"name": "BK-2", "package_id": False, "is_handover": False},
            ],
        )
        self.assertEqual(self.picking.expected_delivery_date, date(2026, 12, 1))
        # Booked again (a retry): the numbers it has are not doubled, and no
        # estimate leaves the one given.
        self.picking._shipment_record_booking([("BK-2", False), ("BK-3", False)])
        self.assertEqual(
            self.picking.tracking_number_ids.sorted("name").mapped("name"),
            ["BK-1", "BK-2", "BK-3"],
        )
        self.assertEqual(self.picking.expected_delivery_date, date(2026, 12, 1))

    def test_forget_booking_drops_the_numbers(self):
        self.picking._shipment_record_booking([("BK-1", self.box), ("BK-2", False)])
        self.picking.with_user(self.user_logistics)._shipment_forget_booking()
        self.assertFalse(self.picking.tracking_number_ids)

    def test_poll_bookkeeping_is_the_systems(self):
        self.picking._shipment_record_booking([("BK-1", False)])
        number = self.picking.tracking_number_ids
        for fname, value in (
            ("next_poll_date", "2099-01-01 00:00:00"),
            ("poll_idle_count", 99),
            ("poll_error", "silenced"),
        ):
            with (
                self.subTest(field=fname),
                self.assertRaisesRegex(AccessError, "maintained by the system"),
            ):
                number.with_user(self.user_logistics).write({fname: value})
        number.with_user(self.user_logistics).package_id = self.box

    def test_delivery_shows_its_numbers_polling(self):
        self.picking._shipment_record_booking([("BK-1", False), ("BK-2", False)])
        first, second = self.picking.tracking_number_ids.sorted("name")
        # sudo: what the poll cron writes.
        first.sudo().write(
            {"next_poll_date": datetime(2026, 11, 27, 9), "poll_error": "down"}
        )
        second.sudo().write(
            {"next_poll_date": datetime(2026, 11, 26, 10), "poll_error": "down"}
        )
        self.assertRecordValues(
            self.picking,
            [
                {
                    "shipment_next_poll_date": datetime(2026, 11, 26, 10),
                    "shipment_poll_error": "down",
                }
            ],
        )


@tagged("post_install", "-at_install")
class TestPollMigration(ShipmentTrackingCase):
    """18.0.1.3.0 carries the deliveries' polling bookkeeping to their
    tracking numbers, once."""

    @staticmethod
    def _migration():
        path = (
            f"{get_module_path('shipment_tracking')}"
            "/migrations/18.0.1.3.0/post-migrate.py"
        )
        spec = importlib.util.spec_from_file_location("st_post_migrate_1_3_0", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.migrate

    def test_carries_bookkeeping_to_numbers_once(self):
        picking = self._create_delivery()
        picking._shipment_record_booking([("MIG-1", False), ("MIG-2", False)])
        first, second = picking.tracking_number_ids.sorted("name")
        # sudo: a number that has bookkeeping of its own keeps it.
        second.sudo().write({"poll_idle_count": 1})
        self.env.flush_all()
        cr = self.env.cr
        # The columns the deliveries had before 18.0.1.3.0 (rolled back
        # with the test's transaction).
        cr.execute(
            """ALTER TABLE stock_picking
                ADD COLUMN shipment_next_poll_date timestamp,
                ADD COLUMN shipment_poll_idle_count integer,
                ADD COLUMN shipment_poll_error varchar"""
        )
        cr.execute(
            SQL(
                """UPDATE stock_picking SET shipment_next_poll_date = %s,
                    shipment_poll_idle_count = 3, shipment_poll_error = 'down'
                    WHERE id = %s""",
                datetime(2026, 12, 1, 10),
                picking.id,
            )
        )
        cron = self.env.ref("shipment_tracking.ir_cron_shipment_poll")
        cron.code = "model._cron_poll_shipments()"
        migrate = self._migration()
        for _run in range(2):
            migrate(cr, "18.0.1.2.1")
            self.env.invalidate_all()
            self.assertRecordValues(
                first | second,
                [
                    {
                        "next_poll_date": datetime(2026, 12, 1, 10),
                        "poll_idle_count": 3,
                        "poll_error": "down",
                    },
                    {
                        "next_poll_date": False,
                        "poll_idle_count": 1,
                        "poll_error": False,
                    },
                ],
            )
            self.assertEqual(cron.code, "model._cron_poll()")
            self.assertEqual(cron.model_id.model, "shipment.tracking.number")
        cr.execute(
            """SELECT column_name FROM information_schema.columns
                WHERE table_name = 'stock_picking'
                  AND column_name LIKE 'shipment%%poll%%'"""
        )
        self.assertFalse(cr.fetchall())

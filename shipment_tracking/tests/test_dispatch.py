# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import date, datetime
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from .common import ShipmentTrackingCase


@tagged("post_install", "-at_install", "shipment_clock")
class TestDispatch(ShipmentTrackingCase):
    def _dispatch(self, picking, **tracking):
        self._fill_details(picking)
        self._set_tracking(picking, **tracking)
        self._validate(picking)

    def test_dispatched_when_done_with_tracking_number(self):
        picking = self._create_delivery()
        self._dispatch(picking)
        self.assertRecordValues(
            picking,
            [
                {
                    "state": "done",
                    "shipment_state": "dispatched",
                    "carrier_tracking_ref": "AbC123xyz",
                    "shipment_notification_state": "to_send",
                }
            ],
        )
        self.assertTrue(picking.shipment_date)

    def test_done_without_tracking_stays_pending_until_logistics_records_it(self):
        picking = self._create_delivery()
        self._fill_details(picking)
        self._validate(picking)
        self.assertRecordValues(
            picking, [{"state": "done", "shipment_state": "pending"}]
        )
        self.assertFalse(picking.shipment_date)
        self._set_tracking(picking, ref="TRK-9")
        self.assertRecordValues(
            picking,
            [
                {
                    "shipment_state": "dispatched",
                    "shipment_notification_state": "to_send",
                }
            ],
        )

    def test_tracking_link_keeps_exact_case(self):
        picking = self._create_delivery()
        self._dispatch(picking, ref="AbC123xyz")
        self.assertEqual(
            picking.carrier_tracking_url, "https://track.example/t?n=AbC123xyz"
        )
        self.assertEqual(
            self.carrier._shipment_tracking_link("a b/C"),
            "https://track.example/t?n=a%20b%2FC",
        )

    @freeze_time("2026-11-27 09:00:00")  # a Friday
    def test_edd_counts_working_days(self):
        picking = self._create_delivery()
        self._dispatch(picking)
        self.assertEqual(picking.shipment_date, datetime(2026, 11, 27, 9, 0))
        # Two transit days after Friday: Monday, Tuesday.
        self.assertEqual(picking.expected_delivery_date, date(2026, 12, 1))

    @freeze_time("2026-11-27 09:00:00")
    def test_edd_skips_public_holidays(self):
        self.env["resource.calendar.leaves"].create(
            {
                "name": "Public holiday",
                "calendar_id": self.company.resource_calendar_id.id,
                "date_from": datetime(2026, 11, 30, 0, 0),
                "date_to": datetime(2026, 11, 30, 23, 59),
                "resource_id": False,
            }
        )
        picking = self._create_delivery()
        self._dispatch(picking)
        self.assertEqual(picking.expected_delivery_date, date(2026, 12, 2))

    def _public_holiday(self, day):
        return self.env["resource.calendar.leaves"].create(
            {
                "name": "Public holiday",
                "calendar_id": self.company.resource_calendar_id.id,
                "date_from": datetime.combine(day, datetime.min.time()),
                "date_to": datetime.combine(day, datetime.max.time()),
                "resource_id": False,
            }
        )

    def test_edd_is_the_calendars_plan_days_at_any_hour(self):
        """The EDD counts on cached working intervals: the day the calendar's
        plan_days gives, whatever the hour of shipping; past the cached weeks
        plan_days itself counts."""
        calendar = self.company.resource_calendar_id
        self._public_holiday(date(2026, 11, 30))
        picking = self._create_delivery()
        shipped_at = [
            datetime(2026, 11, 27, 6, 0),
            datetime(2026, 11, 27, 9, 0),
            datetime(2026, 11, 27, 16, 59),
            datetime(2026, 11, 27, 21, 0),
            datetime(2026, 11, 28, 12, 0),
            datetime(2026, 11, 29, 23, 30),
            datetime(2026, 12, 24, 9, 0),
        ]
        for shipped in shipped_at:
            for days in (1, 2, 5, 30, 60):
                self.carrier.shipment_transit_days = days
                plan = calendar.plan_days(days + 1, shipped, compute_leaves=True)
                self.assertEqual(
                    picking._compute_shipment_edd(shipped),
                    plan.date(),
                    f"shipped {shipped}, {days} transit days",
                )

    @freeze_time("2026-11-27 09:00:00")  # a Friday
    def test_edd_follows_calendar_changes(self):
        """Holidays and working days changed after a dispatch count for the
        next one (the cached working intervals are cleared)."""
        pickings = [self._create_delivery() for _i in range(4)]
        self._dispatch(pickings[0])
        holiday = self._public_holiday(date(2026, 11, 30))
        self._dispatch(pickings[1])
        holiday.unlink()
        self._dispatch(pickings[2])
        self.company.resource_calendar_id.attendance_ids.filtered(
            lambda a: a.dayofweek == "1"
        ).unlink()  # no more Tuesdays
        self._dispatch(pickings[3])
        self.assertEqual(
            [p.expected_delivery_date for p in pickings],
            [
                date(2026, 12, 1),
                date(2026, 12, 2),
                date(2026, 12, 1),
                date(2026, 12, 2),
            ],
        )

    def test_dispatched_again_is_notified_once(self):
        """A delivery put back to pending and dispatched again keeps its one
        dispatch message: the outbox row is never duplicated."""
        picking = self._create_delivery()
        self._dispatch(picking)
        picking.sudo().with_context(
            shipment_tracking_force_state=True
        ).shipment_state = "pending"
        picking.sudo().carrier_tracking_ref = "NEW-1"
        self.assertEqual(picking.shipment_state, "dispatched")
        updates = picking.sudo().shipment_update_ids
        self.assertEqual(updates.mapped("kind"), ["dispatched"])
        self.assertEqual(picking.shipment_notification_state, "to_send")

    def test_edd_given_by_logistics_is_kept(self):
        picking = self._create_delivery()
        self._dispatch(picking, edd=date(2030, 1, 15))
        self.assertEqual(picking.expected_delivery_date, date(2030, 1, 15))

    def test_no_transit_days_no_edd(self):
        self.carrier.shipment_transit_days = 0
        picking = self._create_delivery()
        self._dispatch(picking)
        self.assertFalse(picking.expected_delivery_date)

    def test_illegal_status_jump_refused_unless_logistics_overrides(self):
        picking = self._create_delivery()
        self._dispatch(picking)
        picking.with_user(self.user_logistics).shipment_state = "delivered"
        with self.assertRaisesRegex(
            UserError, "cannot go from Delivered to Dispatched"
        ):
            picking.with_user(self.user_logistics).shipment_state = "dispatched"
        with self.assertRaises(AccessError):
            picking.with_user(self.user_warehouse).with_context(
                shipment_tracking_force_state=True
            ).shipment_state = "dispatched"
        wizard = Form(
            self.env["stock.picking.update.shipment"]
            .with_user(self.user_logistics)
            .with_context(default_picking_id=picking.id)
        )
        wizard.shipment_state = "dispatched"
        with self.assertRaisesRegex(UserError, "needs a reason"):
            wizard.save().action_apply()
        wizard.reason = "Courier scanned the wrong parcel"
        wizard.save().action_apply()
        self.assertEqual(picking.shipment_state, "dispatched")

    def test_tracking_number_frozen_after_dispatch(self):
        picking = self._create_delivery()
        self._dispatch(picking)
        wizard = (
            self.env["stock.picking.update.shipment"]
            .with_user(self.user_logistics)
            .create({"picking_id": picking.id, "carrier_tracking_ref": "OTHER"})
        )
        with self.assertRaisesRegex(UserError, "cannot change once"):
            wizard.action_apply()
        self.assertEqual(picking.carrier_tracking_ref, "AbC123xyz")

    def test_cancelled_delivery_cancels_shipment(self):
        picking = self._create_delivery()
        picking.action_cancel()
        self.assertEqual(picking.shipment_state, "cancelled")

    def test_backorder_gets_no_tracking_data(self):
        picking = self._create_delivery(qty=4)
        self._fill_details(picking)
        self._set_tracking(picking)
        picking.move_ids[0].quantity = 1
        picking.move_ids.picked = True
        action = self._validate(picking)
        backorder_wizard = Form(
            self.env[action["res_model"]].with_context(**action["context"])
        ).save()
        backorder_wizard.with_user(self.user_warehouse).process()
        backorder = picking.backorder_ids
        self.assertTrue(backorder)
        self.assertEqual(picking.shipment_state, "dispatched")
        self.assertRecordValues(
            backorder,
            [
                {
                    "carrier_tracking_ref": False,
                    "shipment_ref": False,
                    "shipment_state": "pending",
                    "shipment_date": False,
                    "expected_delivery_date": False,
                    "shipment_notification_state": "none",
                }
            ],
        )

    def test_tracking_number_follows_the_route_not_receipts(self):
        """Core writes a carrier's tracking number onto the transfers chained
        to the booked delivery (Odoo's own test_multistep_delivery_tracking);
        a receipt chained to it (make-to-order) keeps its own numbers."""
        self.warehouse.delivery_steps = "pick_ship"
        self.carrier.integration_level = "rate_and_ship"
        order = self._create_order()
        pick = order.picking_ids
        self.assertEqual(pick.picking_type_code, "internal")
        pick.move_ids.picked = True
        pick.button_validate()
        ship = order.picking_ids - pick
        self.assertEqual(ship.picking_type_code, "outgoing")
        # A make-to-order receipt feeding the pick.
        receipt = self.env["stock.picking"].create(
            {
                "picking_type_id": self.warehouse.in_type_id.id,
                "partner_id": self.customer.id,
                "carrier_tracking_ref": "VENDOR-1",
                "move_ids": [
                    Command.create(
                        {
                            "name": "MTO",
                            "product_id": self.products[0].id,
                            "product_uom_qty": 1,
                            "location_id": self.ref("stock.stock_location_suppliers"),
                            "location_dest_id": self.warehouse.lot_stock_id.id,
                            "move_dest_ids": [Command.link(pick.move_ids[0].id)],
                        }
                    )
                ],
            }
        )
        self._fill_details(ship)
        ship.picking_type_id.print_label = True
        # Stand-in for a carrier API answering with a tracking number.
        carrier_cls = type(self.env["delivery.carrier"])
        with patch.object(
            carrier_cls,
            "fixed_send_shipping",
            lambda carrier, pickings: [
                {"exact_price": 5.0, "tracking_number": "Api-777"} for _p in pickings
            ],
        ):
            self._validate(ship)
        self.assertEqual(ship.carrier_tracking_ref, "Api-777")
        self.assertEqual(ship.shipment_state, "dispatched")
        self.assertEqual(pick.carrier_tracking_ref, "Api-777")
        self.assertEqual(receipt.carrier_tracking_ref, "VENDOR-1")
        self.assertEqual(ship.tracking_number_ids.mapped("name"), ["Api-777"])
        self.assertFalse(pick.tracking_number_ids, "only shipments are tracked")

    def test_warehouse_edits_details_on_the_form(self):
        picking = self._create_delivery()
        with Form(picking.with_user(self.user_warehouse)) as form:
            form.shipment_length = 12
            form.shipment_width = 8
            form.shipment_height = 5
        self.assertRecordValues(
            picking,
            [{"shipment_length": 12, "shipment_width": 8, "shipment_height": 5}],
        )

    def test_other_operation_types_are_not_shipments(self):
        receipt = self.env["stock.picking"].create(
            {
                "picking_type_id": self.warehouse.in_type_id.id,
                "partner_id": self.customer.id,
                "move_ids": [
                    Command.create(
                        {
                            "name": "in",
                            "product_id": self.products[0].id,
                            "product_uom_qty": 1,
                            "location_id": self.env.ref(
                                "stock.stock_location_suppliers"
                            ).id,
                            "location_dest_id": self.stock_location.id,
                        }
                    )
                ],
            }
        )
        self.assertFalse(receipt.is_shipment)
        receipt.action_confirm()
        receipt.move_ids.quantity = 1
        receipt.move_ids.picked = True
        receipt.button_validate()
        self.assertFalse(receipt.shipment_ref)
        self.assertIn(
            receipt,
            self.env["stock.picking"].search([("is_shipment", "=", False)]),
        )

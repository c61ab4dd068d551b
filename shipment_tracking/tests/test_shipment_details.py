# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import importlib.util
from pathlib import Path

from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import ShipmentTrackingCase

MIGRATION = (
    Path(__file__).parent.parent / "migrations" / "18.0.1.2.1" / "post-migrate.py"
)


@tagged("post_install", "-at_install")
class TestShipmentDetails(ShipmentTrackingCase):
    def test_contents_default_from_moves_and_editable(self):
        picking = self._create_delivery(qty=2)
        lines = picking.shipment_contents.splitlines()
        self.assertEqual(len(lines), 3)
        self.assertIn("2 Units Mug", lines[0])
        picking.with_user(self.user_warehouse).shipment_contents = "Gift box"
        self.assertEqual(picking.shipment_contents, "Gift box")

    def test_contents_follow_the_moves_until_typed(self):
        picking = self._create_delivery(qty=2)
        mug, lamp, tin = picking.move_ids.sorted("id")
        dozen = self.env.ref("uom.product_uom_dozen")
        mug.product_uom = dozen
        lamp._action_cancel()
        self.assertEqual(
            picking.shipment_contents.splitlines(),
            [f"2 {dozen.name} Mug", f"2 {tin.product_uom.name} Tea Tin"],
        )
        self.assertFalse(picking.shipment_contents_typed)
        picking.with_user(self.user_warehouse).shipment_contents = "Gift box"
        self.assertTrue(picking.shipment_contents_typed)
        # The unit, the state (reservation, cancel) and the quantity of the
        # moves change: what the worker typed stays.
        mug.product_uom = self.env.ref("uom.product_uom_unit")
        tin.product_uom_qty = 1
        picking.do_unreserve()
        picking.action_assign()
        tin._action_cancel()
        self.assertEqual(picking.shipment_contents, "Gift box")
        # Typed back to what the moves give, the contents follow them again.
        default = picking._shipment_default_contents()
        self.assertEqual(default, f"2 {mug.product_uom.name} Mug")
        picking.with_user(self.user_warehouse).shipment_contents = default
        self.assertFalse(picking.shipment_contents_typed)
        mug.product_uom_qty = 3
        self.assertEqual(picking.shipment_contents, f"3 {mug.product_uom.name} Mug")

    def test_contents_leave_out_a_line_cancelled_at_validation(self):
        """Validated without a backorder, a line nothing was picked for is
        cancelled: the contents say what left."""
        picking = self._create_delivery(qty=2)
        self._fill_details(picking)
        mug, lamp, tin = picking.move_ids.sorted("id")
        lamp.quantity = 0
        (mug | tin).picked = True
        picking.with_context(cancel_backorder=True)._action_done()
        self.assertEqual((mug | tin).mapped("state"), ["done", "done"])
        self.assertEqual(lamp.state, "cancel")
        self.assertEqual(
            picking.shipment_contents.splitlines(),
            [f"2 {mug.product_uom.name} Mug", f"2 {tin.product_uom.name} Tea Tin"],
        )

    def test_typed_contents_survive_validation(self):
        picking = self._create_delivery()
        self._fill_details(picking)
        picking.with_user(self.user_warehouse).shipment_contents = "Gift box"
        self._validate(picking)
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.shipment_contents, "Gift box")
        untyped = self._create_delivery()
        self._fill_details(untyped)
        default = untyped.shipment_contents
        self._validate(untyped)
        self.assertEqual(untyped.state, "done")
        self.assertEqual(untyped.shipment_contents, default)

    def test_typed_flag_is_the_systems(self):
        picking = self._create_delivery()
        with self.assertRaises(AccessError):
            picking.with_user(self.user_logistics).write(
                {"shipment_contents_typed": True}
            )
        self.assertFalse(picking.shipment_contents_typed)

    def test_upgrade_flags_contents_typed_before(self):
        """migrations/18.0.1.2.1: open deliveries whose contents differ from
        their moves' text were typed; the others, and closed ones, follow."""
        typed, untouched, done = (self._create_delivery() for _i in range(3))
        typed.shipment_contents = "Gift box"
        self._fill_details(done)
        done.shipment_contents = "Books"
        self._validate(done)
        self.assertEqual(done.shipment_contents, "Books")
        # As 18.0.1.2.0 left them: nothing flagged.
        (typed | untouched | done).sudo().write({"shipment_contents_typed": False})
        spec = importlib.util.spec_from_file_location("post_migrate", MIGRATION)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        migration.migrate(self.env.cr, "18.0.1.2.0")
        self.env.invalidate_all()
        self.assertEqual(
            (typed | untouched | done).mapped("shipment_contents_typed"),
            [True, False, False],
        )
        self.assertEqual(done.shipment_contents, "Books")
        typed.move_ids[:1]._action_cancel()
        self.assertEqual(typed.shipment_contents, "Gift box")

    def test_negative_dimensions_refused(self):
        picking = self._create_delivery()
        for field in ("shipment_length", "shipment_width", "shipment_height"):
            with self.subTest(field=field), self.assertRaises(ValidationError):
                with self.env.cr.savepoint():
                    picking.with_user(self.user_warehouse).write({field: -1.0})
        with self.assertRaises(ValidationError):
            picking.with_user(self.user_warehouse).write({"shipping_weight": -2.0})
        self.assertEqual(picking.shipment_length, 0.0)

    def test_missing_details_block_validation_listing_everything(self):
        picking = self._create_delivery()
        picking.shipment_contents = " "
        picking.shipment_width = 5.0
        with self.assertRaises(UserError) as error:
            self._validate(picking)
        message = str(error.exception)
        self.assertIn(picking.name, message)
        self.assertIn("length must be greater than 0", message)
        self.assertIn("height must be greater than 0", message)
        self.assertNotIn("width must be", message)
        self.assertIn("contents description is empty", message)
        self.assertEqual(picking.state, "assigned")
        self.assertFalse(picking.shipment_ref)

    def test_zero_weight_blocks_validation(self):
        picking = self._create_delivery()
        self._fill_details(picking)
        self.products.write({"weight": 0.0})
        with self.assertRaisesRegex(UserError, "weight must be greater than 0"):
            self._validate(picking)
        picking.with_user(self.user_warehouse).shipping_weight = 3.5
        self._validate(picking)
        self.assertEqual(picking.state, "done")

    def test_programmatic_validation_is_not_blocked(self):
        """Odoo's own flows, other modules, imports and EDI validate with
        ``_action_done``: the details check is the Validate button's."""
        picking = self._create_delivery()
        self.assertTrue(picking._shipment_details_required())
        self.assertTrue(picking._get_shipment_detail_errors())
        picking.move_ids.picked = True
        picking._action_done()
        self.assertEqual(picking.state, "done")
        self.assertTrue(picking.shipment_ref, "a shipment ID, as on the button")

    def test_server_side_button_validate_is_not_blocked(self):
        """Another module's flow pressing the button server-side (no user
        request: a cron, an import, Odoo's own flows) is not a person
        validating."""
        picking = self._create_delivery()
        self.assertFalse(picking._shipment_is_interactive_validation())
        picking.move_ids.picked = True
        picking.with_user(self.user_warehouse).button_validate()
        self.assertEqual(picking.state, "done")

    def test_existing_carriers_keep_validating_new_ones_require(self):
        """Carriers that existed when the module was installed validate as
        before; carriers created afterwards require the details."""
        existing = self.env.ref("delivery.free_delivery_carrier")
        self.assertFalse(existing.shipment_require_details)
        new = self.env["delivery.carrier"].create(
            {"name": "New carrier", "product_id": existing.product_id.id}
        )
        self.assertTrue(new.shipment_require_details)

    def test_details_check_can_be_relaxed_per_carrier(self):
        self.carrier.shipment_require_details = False
        picking = self._create_delivery()
        self._validate(picking)
        self.assertEqual(picking.state, "done")

    def test_no_carrier_no_check(self):
        picking = self._create_delivery()
        picking.carrier_id = False
        self._validate(picking)
        self.assertEqual(picking.state, "done")
        self.assertTrue(picking.shipment_ref, "every delivery gets a shipment ID")

    def test_valid_details_validate(self):
        picking = self._create_delivery()
        self._fill_details(picking)
        self._validate(picking)
        self.assertEqual(picking.state, "done")

    def test_packages_carry_their_own_dimensions(self):
        box = self.env["stock.package.type"].create(
            {"name": "Box M", "packaging_length": 40, "width": 30, "height": 20}
        )
        picking = self._create_delivery()
        package = self.env["stock.quant.package"].create({"package_type_id": box.id})
        self.assertRecordValues(
            package,
            [{"shipment_length": 40, "shipment_width": 30, "shipment_height": 20}],
        )
        picking.move_line_ids.write({"result_package_id": package.id})
        # Every good is packed: the delivery-level dimensions are not required.
        package.shipment_height = 0
        with self.assertRaisesRegex(UserError, f"package {package.name}: height"):
            self._validate(picking)
        package.shipment_height = 25
        self._validate(picking)
        self.assertEqual(picking.state, "done")

    def test_package_negative_dimension_refused(self):
        package = self.env["stock.quant.package"].create({})
        with self.assertRaises(ValidationError):
            package.shipment_width = -3

    def test_package_form_defaults_from_type(self):
        box = self.env["stock.package.type"].create(
            {"name": "Box S", "packaging_length": 20, "width": 15, "height": 10}
        )
        with Form(self.env["stock.quant.package"]) as form:
            form.package_type_id = box
            self.assertEqual(form.shipment_length, 20)
            form.shipment_length = 22
        self.assertEqual(form.record.shipment_length, 22)


@tagged("post_install", "-at_install")
class TestShipmentRef(ShipmentTrackingCase):
    def test_ref_assigned_at_validation_from_company_sequence(self):
        first, second = self._create_delivery(), self._create_delivery()
        for picking in first + second:
            self._fill_details(picking)
            self.assertFalse(picking.shipment_ref)
        self._validate(first)
        self._validate(second)
        self.assertTrue(first.shipment_ref.startswith("SHP/"))
        self.assertNotEqual(first.shipment_ref, second.shipment_ref)

    def test_ref_entered_by_logistics_is_kept(self):
        picking = self._create_delivery()
        self._fill_details(picking)
        picking.with_user(self.user_logistics).shipment_ref = "  OWN-42 "
        self._validate(picking)
        self.assertEqual(picking.shipment_ref, "OWN-42")

    def test_duplicate_ref_refused_per_company(self):
        first, second = self._create_delivery(), self._create_delivery()
        first.shipment_ref = "DUP-1"
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            with self.env.cr.savepoint():
                second.shipment_ref = "DUP-1"
                second.flush_recordset()
        other_company = self.env["res.company"].create({"name": "Other Co"})
        other_warehouse = self.env["stock.warehouse"].search(
            [("company_id", "=", other_company.id)], limit=1
        )
        other_picking = self.env["stock.picking"].create(
            {
                "picking_type_id": other_warehouse.out_type_id.id,
                "company_id": other_company.id,
                "shipment_ref": "DUP-1",
            }
        )
        other_picking.flush_recordset()
        self.assertEqual(other_picking.shipment_ref, "DUP-1")

    def test_ref_cannot_change_after_dispatch(self):
        picking = self._create_delivery()
        self._fill_details(picking)
        self._set_tracking(picking)
        self._validate(picking)
        self.assertEqual(picking.shipment_state, "dispatched")
        with self.assertRaisesRegex(UserError, "cannot change after dispatch"):
            picking.with_user(self.user_logistics).shipment_ref = "LATE-1"

    def test_ref_not_copied(self):
        picking = self._create_delivery()
        self._fill_details(picking)
        self._validate(picking)
        copy = picking.copy()
        self.assertFalse(copy.shipment_ref)
        self.assertEqual(copy.shipment_state, "pending")

    def test_generated_ref_skips_numbers_entered_by_hand(self):
        first, second = self._create_delivery(), self._create_delivery()
        for picking in first + second:
            self._fill_details(picking)
        self._validate(first)
        sequence = self.company.shipment_sequence_id
        upcoming = sequence.get_next_char(sequence.number_next_actual)
        second.with_user(self.user_logistics).shipment_ref = upcoming
        third = self._create_delivery()
        self._fill_details(third)
        self._validate(second)
        self._validate(third)
        self.assertEqual(second.shipment_ref, upcoming)
        self.assertNotEqual(third.shipment_ref, upcoming)
        self.assertTrue(third.shipment_ref.startswith("SHP/"))

    def test_generated_ref_skips_a_run_of_numbers_entered_by_hand(self):
        """Numbers typed by hand ahead of the sequence are skipped one draw
        at a time, each draw one statement (an index lookup)."""
        first, *typed, last = [self._create_delivery() for _i in range(4)]
        for picking in (first, *typed, last):
            self._fill_details(picking)
        self._validate(first)
        sequence = self.company.shipment_sequence_id
        number_next = sequence.number_next_actual
        upcoming = [sequence.get_next_char(number_next + i) for i in range(2)]
        for picking, ref in zip(typed, upcoming, strict=True):
            picking.with_user(self.user_logistics).shipment_ref = ref
        self.env.flush_all()
        count = self.env.cr.sql_log_count
        ref = last._shipment_draw_ref()
        self.assertEqual(self.env.cr.sql_log_count - count, 3)
        self.assertNotIn(ref, upcoming)
        self.assertEqual(ref, sequence.get_next_char(number_next + 2))

    def test_generated_ref_follows_sequence_changes(self):
        """The sequence's settings are cached for validation: a change counts
        for the next delivery, a gapless sequence numbers through Odoo."""
        pickings = [self._create_delivery() for _i in range(3)]
        for picking in pickings:
            self._fill_details(picking)
        self._validate(pickings[0])
        sequence = self.company.shipment_sequence_id
        sequence.write({"prefix": "PARCEL-", "padding": 4})
        self._validate(pickings[1])
        self.assertRegex(pickings[1].shipment_ref, r"^PARCEL-\d{4}$")
        sequence.write({"implementation": "no_gap", "suffix": "-X"})
        self._validate(pickings[2])
        self.assertRegex(pickings[2].shipment_ref, r"^PARCEL-\d{4}-X$")
        self.assertEqual(len({p.shipment_ref for p in pickings}), 3)

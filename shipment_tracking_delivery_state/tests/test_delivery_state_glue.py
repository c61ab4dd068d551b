# Copyright 2026 Shipment Tracking Contributors
# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
from datetime import datetime, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.shipment_tracking.tests.common import ShipmentTrackingCase

# Written out here rather than imported: the test states the mapping.
EXPECTED_DELIVERY_STATES = {
    "in_transit": "in_transit",
    "out_for_delivery": "in_transit",
    "available_for_pickup": "in_transit",
    "delivered": "customer_delivered",
    "exception": "incident",
    "returned": "incident",
    "cancelled": "canceled_shipment",
    "expired": "no_update",
}
# Event times: the day after dispatch (TEST_NOW is 2026-11-26 08:00).
DAY_AFTER = datetime(2026, 11, 27, 9, 30)


@tagged("post_install", "-at_install", "shipment_clock")
class TestDeliveryStateGlue(ShipmentTrackingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ds_template = cls.env.ref(
            "delivery_state.delivery_state_delivered_notification"
        )

    def _dispatch(self, ref):
        picking = self._create_delivery()
        self._fill_details(picking)
        self._set_tracking(picking, ref=ref)
        self._validate(picking)
        self.assertEqual(picking.shipment_state, "dispatched")
        return picking

    def _apply(self, ref, state, when=DAY_AFTER, **extra):
        """The carrier's webhook brings an event a few minutes after it
        happened."""
        event = dict({"tracking_ref": ref, "state": state, "event_time": when}, **extra)
        with freeze_time(when + timedelta(minutes=5)):
            return self.env["stock.picking"]._shipment_apply_carrier_events(
                [event], "webhook", self.carrier
            )

    def _use_delivery_state_email(self, template=None):
        self.company.write(
            {
                "delivery_state_delivered_email_validation": True,
                "delivery_state_delivered_mail_template_id": (
                    template or self.ds_template
                ).id,
            }
        )

    def _delivered_messages(self, picking):
        """(delivery_state's, ours) delivered emails posted on ``picking``."""
        messages = picking.message_ids
        theirs = messages.filtered(
            lambda m: "Your package has been delivered" in (m.body or "")
        )
        ours = messages.filtered(lambda m: (m.subject or "").endswith("was delivered"))
        return theirs, ours

    def test_dispatch_records_the_shipment_in_delivery_state(self):
        picking = self._dispatch("DS-DISPATCH")
        self.assertEqual(picking.delivery_state, "shipping_recorded_in_carrier")
        self.assertEqual(picking.date_shipped, picking.shipment_date.date())
        self.assertFalse(picking.date_delivered)

    def test_each_status_maps_to_a_delivery_state(self):
        for index, (state, expected) in enumerate(EXPECTED_DELIVERY_STATES.items()):
            with self.subTest(state=state):
                ref = f"DS-MAP-{index}"
                picking = self._dispatch(ref)
                result = self._apply(
                    ref, state, carrier_status_text=f"Carrier says {state}"
                )
                self.assertEqual(len(result["created"]), 1)
                self.assertRecordValues(
                    picking,
                    [
                        {
                            "shipment_state": state,
                            "delivery_state": expected,
                            "tracking_state": f"Carrier says {state}",
                        }
                    ],
                )

    def test_tracking_state_is_the_carriers_last_word(self):
        picking = self._dispatch("DS-TEXT")
        self._apply("DS-TEXT", "in_transit", carrier_status_code="ARR")
        self.assertEqual(picking.tracking_state, "ARR")
        # A scan that changes no status leaves delivery_state as it was.
        self._apply(
            "DS-TEXT",
            False,
            DAY_AFTER + timedelta(hours=1),
            carrier_status_text="Sorted",
        )
        self.assertEqual(picking.tracking_state, "ARR")
        self._apply(
            "DS-TEXT",
            "out_for_delivery",
            DAY_AFTER + timedelta(hours=2),
            carrier_status_text="With the driver",
        )
        self.assertEqual(picking.tracking_state, "With the driver")

    def test_dates_follow_the_shipment(self):
        picking = self._dispatch("DS-DATES")
        shipped = picking.date_shipped
        self._apply("DS-DATES", "delivered")
        self.assertRecordValues(
            picking,
            [
                {
                    "shipment_delivered_date": DAY_AFTER,
                    "date_delivered": DAY_AFTER,
                    "date_shipped": shipped,
                    "delivery_state": "customer_delivered",
                }
            ],
        )

    def test_a_batch_looks_up_its_events_once(self):
        pickings = self._dispatch("DS-B1") | self._dispatch("DS-B2")
        for ref in ("DS-B1", "DS-B2"):
            self._apply(ref, False, carrier_status_text=f"At the hub for {ref}")
        Picking = type(self.env["stock.picking"])
        with patch.object(
            Picking,
            "_delivery_state_last_carrier_texts",
            autospec=True,
            side_effect=Picking._delivery_state_last_carrier_texts,
        ) as lookup:
            pickings.with_user(self.user_logistics).with_context(
                shipment_tracking_force_state=True
            ).write({"shipment_state": "in_transit"})
        self.assertEqual(lookup.call_count, 1)
        self.assertRecordValues(
            pickings,
            [
                {
                    "delivery_state": "in_transit",
                    "tracking_state": "At the hub for DS-B1",
                },
                {
                    "delivery_state": "in_transit",
                    "tracking_state": "At the hub for DS-B2",
                },
            ],
        )

    def test_delivered_once_with_delivery_state_email(self):
        """delivery_state's email on: the customer gets it once, and not ours."""
        self._use_delivery_state_email()
        picking = self._dispatch("DS-MAIL")
        self._run_notification_cron()
        self._apply("DS-MAIL", "delivered", carrier_event_id="d1")
        # Nothing is rendered in the carrier's transaction: it is queued.
        self.assertEqual(
            self._delivered_messages(picking), (self.env["mail.message"],) * 2
        )
        self._run_notification_cron()
        # The carrier repeats itself; delivery_state's own path writes again.
        self._apply(
            "DS-MAIL",
            "delivered",
            DAY_AFTER + timedelta(hours=1),
            carrier_event_id="d2",
        )
        picking.write({"delivery_state": "customer_delivered"})
        self._run_notification_cron()
        theirs, ours = self._delivered_messages(picking)
        self.assertEqual(len(theirs), 1)
        self.assertFalse(ours)
        self.assertIn(self.customer, theirs.partner_ids)
        update = picking.shipment_update_ids.filtered(lambda u: u.kind == "delivered")
        self.assertRecordValues(update, [{"state": "sent"}])
        self.assertTrue(
            self.env["mail.mail"].search_count([("mail_message_id", "=", theirs.id)]),
            "queued for Odoo's mail cron, not sent in the cron's transaction",
        )

    def test_delivered_once_ours_when_delivery_state_email_is_off(self):
        picking = self._dispatch("DS-OURS")
        self._apply("DS-OURS", "delivered")
        self._run_notification_cron()
        theirs, ours = self._delivered_messages(picking)
        self.assertFalse(theirs)
        self.assertEqual(len(ours), 1)
        self.assertEqual(picking.delivery_state, "customer_delivered")

    def test_delivery_state_email_even_when_ours_is_off(self):
        self.company.shipment_notify_delivered = False
        self._use_delivery_state_email()
        picking = self._dispatch("DS-THEIRS")
        self._apply("DS-THEIRS", "delivered")
        self._run_notification_cron()
        theirs, ours = self._delivered_messages(picking)
        self.assertEqual((len(theirs), len(ours)), (1, 0))

    def test_delivery_state_path_first_then_our_event(self):
        """A delivery_state connector told the customer first: our delivered
        event sends nothing more."""
        self._use_delivery_state_email()
        picking = self._dispatch("DS-FIRST")
        picking.write({"delivery_state": "customer_delivered"})
        self.assertEqual(len(self._delivered_messages(picking)[0]), 1)
        self._apply("DS-FIRST", "delivered")
        self._run_notification_cron()
        theirs, ours = self._delivered_messages(picking)
        self.assertEqual((len(theirs), len(ours)), (1, 0))

    def test_users_cannot_declare_a_shipment_delivered_by_hand(self):
        """delivery_state's fields follow the shipment status: a user writing
        them would email "delivered" and settle our delivered update before
        the carrier says so."""
        self._use_delivery_state_email()
        picking = self._dispatch("DS-HAND")
        for user in (self.user_warehouse, self.user_cs):
            for vals in (
                {"delivery_state": "customer_delivered"},
                {"date_delivered": "2026-11-27 10:00:00"},
            ):
                with self.subTest(user=user.login, vals=vals):
                    with self.assertRaises(AccessError):
                        picking.with_user(user).write(vals)
        self.assertEqual(picking.delivery_state, "shipping_recorded_in_carrier")
        theirs, ours = self._delivered_messages(picking)
        self.assertFalse(theirs | ours)
        # Logistics may (delivery_state's own cron and connectors run as such
        # a user): the status is theirs to override anyway.
        picking.with_user(self.user_logistics).write({"tracking_state": "Checked"})
        self.assertEqual(picking.tracking_state, "Checked")
        self.assertFalse(
            picking.shipment_update_ids.filtered(lambda u: u.kind == "delivered")
        )

    def test_broken_delivery_state_template_loses_nothing(self):
        """The event is kept, and the customer gets our email instead."""
        broken = self.ds_template.copy({"subject": "{{ object.no_such_field }}"})
        self._use_delivery_state_email(broken)
        picking = self._dispatch("DS-BROKEN")
        result = self._apply("DS-BROKEN", "delivered")
        self.assertEqual(len(result["created"]), 1)
        self.assertEqual(picking.shipment_state, "delivered")
        with mute_logger(
            "odoo.addons.shipment_tracking_delivery_state.models.stock_picking",
            "odoo.addons.mail.models.mail_render_mixin",
        ):
            self._run_notification_cron()
        theirs, ours = self._delivered_messages(picking)
        self.assertEqual((len(theirs), len(ours)), (0, 1))
        self.assertTrue(
            picking.message_ids.filtered(
                lambda m: "could not be sent" in (m.body or "")
            )
        )

    def test_delivery_state_cron_leaves_our_carriers_alone(self):
        """delivery_state's cron asks each carrier for
        ``<delivery_type>_tracking_state_update``; ours have none: skipped,
        no error recorded."""
        picking = self._dispatch("DS-CRON")
        types = dict(self.env["delivery.carrier"]._fields["delivery_type"].selection)
        if "generic" in types:
            # Our HTTP connector: a type delivery_state's cron does look at.
            picking.carrier_id = self.carrier.copy(
                {"name": "Generic", "delivery_type": "generic"}
            )
        Picking = type(self.env["stock.picking"])
        with patch.object(
            Picking,
            "tracking_state_update",
            autospec=True,
            side_effect=Picking.tracking_state_update,
        ) as update:
            self.env["stock.picking"].with_context(cron_id=1)._update_delivery_state()
        updated = self.env["stock.picking"].union(
            *(c.args[0] for c in update.mock_calls)
        )
        self.assertEqual(picking in updated, "generic" in types)
        picking.tracking_state_update()
        self.assertRecordValues(
            picking,
            [
                {
                    "pod_error": False,
                    "delivery_state": "shipping_recorded_in_carrier",
                    "shipment_state": "dispatched",
                }
            ],
        )

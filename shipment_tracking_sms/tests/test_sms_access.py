# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .test_shipment_sms import ShipmentSmsCase

SMS_FIELDS = {
    "shipment_sms_state": False,
    "shipment_sms_message_id": False,
    "shipment_sms_note": "customer prefers no SMS",
}


@tagged("post_install", "-at_install")
class TestSmsFieldGuards(ShipmentSmsCase):
    """The dispatch SMS bookkeeping is the system's: clearing it would text
    the customer again."""

    def test_sms_fields_refused_for_every_role(self):
        picking = self._dispatched()
        self._run_notification_cron()
        self.assertEqual(picking.shipment_sms_state, "sent")
        for user in (self.user_warehouse, self.user_logistics, self.user_cs):
            for fname, value in SMS_FIELDS.items():
                with self.subTest(user=user.login, field=fname):
                    with self.assertRaisesRegex(
                        AccessError, "maintained by the system"
                    ):
                        picking.with_user(user).write({fname: value})
        self.assertEqual(picking.shipment_sms_state, "sent")

    def test_sms_fields_hidden_from_portal(self):
        picking = self._dispatched()
        portal = new_test_user(
            self.env,
            "st_sms_portal",
            groups="base.group_portal",
            partner_id=self.customer.id,
        )
        for fname in SMS_FIELDS:
            with self.subTest(field=fname), self.assertRaises(AccessError):
                picking.with_user(portal).read([fname])


GATEWAY_SETTINGS = (
    "shipment_sms_http_base_url",
    "shipment_sms_http_account_sid",
    "shipment_sms_http_auth_token",
    "shipment_sms_http_sender",
)


@tagged("post_install", "-at_install")
class TestGatewaySettingsAccess(ShipmentSmsCase):
    """The HTTP gateway's URL and credentials are administrators' only:
    neither read nor written by Logistics, Warehouse or Customer Service."""

    def test_gateway_settings_refused_to_non_admins(self):
        for user in (self.user_logistics, self.user_warehouse, self.user_cs):
            company = self.company.with_user(user)
            for fname in GATEWAY_SETTINGS:
                with self.subTest(user=user.login, field=fname):
                    with self.assertRaises(AccessError):
                        company.read([fname])
                    with self.assertRaises(AccessError):
                        company.write({fname: "https://attacker.example"})
                    self.assertNotIn(fname, company.fields_get())
        # sudo: the test reads back what only an administrator may read.
        self.assertEqual(
            self.company.sudo().shipment_sms_http_auth_token, self.gateway.auth_token
        )
        self.assertEqual(
            self.company.sudo().shipment_sms_http_base_url, self.gateway.url
        )

# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from xmlrpc.client import Fault

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged

from .common import SandboxCarrierMixin


@tagged("post_install", "-at_install")
class TestSecrets(SandboxCarrierMixin, HttpCase):
    def test_only_admins_read_and_write_secrets(self):
        for user in (self.user_warehouse, self.user_logistics, self.user_cs):
            carrier = self.generic.with_user(user)
            for field in ("generic_api_key", "generic_webhook_secret"):
                with self.subTest(user=user.login, field=field):
                    with self.assertRaises(AccessError):
                        carrier.read([field])
                    with self.assertRaises(AccessError):
                        carrier.write({field: "stolen"})
        admin = self.env.ref("base.user_admin")
        self.assertEqual(
            self.generic.with_user(admin).read(["generic_api_key"])[0][
                "generic_api_key"
            ],
            "test-key",
        )

    def test_secrets_hidden_over_rpc(self):
        self.user_logistics.password = "logistics-Pw-2026"
        db = self.env.cr.dbname
        uid = self.xmlrpc_common.authenticate(
            db, "st_logistics", "logistics-Pw-2026", {}
        )
        self.assertEqual(uid, self.user_logistics.id)
        fields = self.xmlrpc_object.execute_kw(
            db, uid, "logistics-Pw-2026", "delivery.carrier", "fields_get", [], {}
        )
        self.assertNotIn("generic_webhook_secret", fields)
        with self.assertRaisesRegex(Fault, "AccessError|not allowed|access"):
            self.xmlrpc_object.execute_kw(
                db,
                uid,
                "logistics-Pw-2026",
                "delivery.carrier",
                "read",
                [[self.generic.id], ["generic_webhook_secret"]],
            )

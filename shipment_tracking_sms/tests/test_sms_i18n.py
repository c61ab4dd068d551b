# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import tagged

from odoo.addons.shipment_tracking.tests.test_i18n import (
    _catalog,
    _static_texts,
    _translation,
)

from .test_shipment_sms import ShipmentSmsCase

LANGS = {"fr": "fr_FR", "de": "de_DE"}


def _msgstr(module, lang, msgid):
    entry = _catalog(module, lang).find(msgid)
    assert entry and entry.msgstr, f"{msgid!r} not translated in {module}/{lang}"
    return entry.msgstr


@tagged("post_install", "-at_install")
class TestSmsLanguages(ShipmentSmsCase):
    """The dispatch SMS in the customer's language: the words of the .po
    file, the estimate's phrase too (no English inside an expression)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for code in LANGS.values():
            cls.env["res.lang"]._activate_lang(code)
        cls.env["ir.module.module"]._load_module_terms(
            ["shipment_tracking", "shipment_tracking_sms"],
            list(LANGS.values()),
            overwrite=True,
        )

    def test_dispatch_sms_in_french_and_german(self):
        xmlid = "sms_template_shipment_dispatched"
        english = self.env.ref(f"shipment_tracking_sms.{xmlid}").with_context(
            lang="en_US"
        )
        for lang, code in LANGS.items():
            with self.subTest(lang=lang):
                self.customer.lang = code
                picking = self._dispatched()
                self.assertTrue(picking.expected_delivery_date)
                self._run_notification_cron()
                body = self._sms(picking).body
                translated = _translation(
                    "shipment_tracking_sms",
                    lang,
                    f"model:sms.template,body:shipment_tracking_sms.{xmlid}",
                )
                for text in _static_texts(translated)[:3]:
                    self.assertIn(text, body)
                for text in _static_texts(english.body)[:3]:
                    self.assertNotIn(text, body)
                eta = _msgstr("shipment_tracking_sms", lang, ", ETA %(date)s")
                self.assertIn(eta.split("%(date)s")[0].strip(" ,"), body)
                self.assertNotIn(", ETA ", body)

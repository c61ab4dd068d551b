# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import BaseCase, tagged

from ..tools import sms_length


@tagged("post_install", "-at_install")
class TestSmsLength(BaseCase):
    def test_gsm7_segments(self):
        self.assertEqual(sms_length(""), ("gsm7", 0, 0))
        self.assertEqual(sms_length("a" * 160), ("gsm7", 160, 1))
        self.assertEqual(sms_length("a" * 161), ("gsm7", 161, 2))
        self.assertEqual(sms_length("a" * 306), ("gsm7", 306, 2))
        self.assertEqual(sms_length("a" * 307), ("gsm7", 307, 3))
        # Extension characters take two septets.
        self.assertEqual(sms_length("€" * 80), ("gsm7", 160, 1))
        self.assertEqual(sms_length("Café à 5€ [ok]"), ("gsm7", 17, 1))

    def test_ucs2_segments(self):
        self.assertEqual(sms_length("ą" * 70), ("ucs2", 70, 1))
        self.assertEqual(sms_length("ą" * 71), ("ucs2", 71, 2))
        self.assertEqual(sms_length("ą" * 134), ("ucs2", 134, 2))
        self.assertEqual(sms_length("ą" * 135), ("ucs2", 135, 3))
        # An emoji is two UTF-16 code units.
        self.assertEqual(sms_length("📦"), ("ucs2", 2, 1))

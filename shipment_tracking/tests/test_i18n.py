# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re
from pathlib import Path

import polib

from odoo.modules.module import get_module_path
from odoo.tests import BaseCase, tagged

# Every add-on of the suite speaks these languages, customer texts and back
# office alike.
LANGUAGES = ("fr", "de", "es", "it", "nl")
MODULES = (
    "shipment_tracking",
    "shipment_tracking_carrier_generic",
    "shipment_tracking_delivery_state",
    "shipment_tracking_sms",
)
# What a translation must carry over unchanged: Python and QWeb placeholders,
# inline template code, and markup with its attributes.
PLACEHOLDER = re.compile(
    r"%\(\w+\)[sd]|%[sd]|\{\{.*?\}\}|<t [^>]*/?>|</t>|<a [^>]*>|\$\{.*?\}"
)


def _placeholders(text):
    return sorted(PLACEHOLDER.findall(text))


@tagged("post_install", "-at_install")
class TestTranslations(BaseCase):
    """The .po files of each add-on translate every term of its .pot, and
    keep its placeholders: a missing term shows English to a French
    customer, a lost placeholder breaks the email or the SMS."""

    def _catalogs(self):
        for module in MODULES:
            i18n = Path(get_module_path(module)) / "i18n"
            pot = polib.pofile(str(i18n / f"{module}.pot"))
            for lang in LANGUAGES:
                yield module, lang, pot, i18n / f"{lang}.po"

    def test_every_term_translated(self):
        for module, lang, pot, path in self._catalogs():
            with self.subTest(module=module, lang=lang):
                self.assertTrue(path.exists(), f"{path} is missing")
                po = polib.pofile(str(path))
                translated = {
                    entry.msgid: entry.msgstr
                    for entry in po
                    if entry.msgstr
                    and not entry.obsolete
                    and "fuzzy" not in entry.flags
                }
                missing = [
                    e.msgid for e in pot if e.msgid and e.msgid not in translated
                ]
                self.assertFalse(
                    missing,
                    f"{path}: {len(missing)} of {len(pot)} terms not translated, "
                    f"e.g. {missing[:3]}",
                )

    def test_placeholders_kept(self):
        for module, lang, _pot, path in self._catalogs():
            if not path.exists():
                continue
            with self.subTest(module=module, lang=lang):
                wrong = [
                    entry.msgid[:60]
                    for entry in polib.pofile(str(path))
                    if entry.msgstr
                    and _placeholders(entry.msgid) != _placeholders(entry.msgstr)
                ]
                self.assertFalse(wrong, f"{path}: placeholders changed in {wrong[:5]}")

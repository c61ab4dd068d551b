# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import html
import re
from pathlib import Path

import polib

from odoo.modules.module import get_module_path
from odoo.tests import BaseCase, HttpCase, TransactionCase, tagged
from odoo.tools.translate import TranslationModuleReader

from .common import ShipmentFixtures, ShipmentTrackingCase

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
    r"|\bt-[\w-]+=\"[^\"]*\"|\bhref=\"[^\"]*\""
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


def _skipped_ref(ref):
    return "_demo" in ref or ref.startswith(
        ("model:mail.template,", "model:sms.template,")
    )


@tagged("post_install", "-at_install")
class TestPotFollowsTheCode(TransactionCase):
    """Each add-on's .pot holds the terms its code, views, templates and
    data give today: a term added without regenerating the .pot would go
    untranslated without the test above noticing."""

    def test_pot_matches_the_installed_terms(self):
        for module in MODULES:
            with self.subTest(module=module):
                terms = {}
                # A file the extraction cannot read would drop all its terms
                # from the .pot and from this comparison alike.
                with self.assertNoLogs("odoo.tools.translate", "ERROR"):
                    reader = TranslationModuleReader(self.env.cr, modules=[module])
                for _mod, ttype, name, res_id, source, _value, _comments in reader:
                    terms.setdefault(source, []).append(f"{ttype}:{name}:{res_id}")
                # Demo records' terms stay out of the .pot (a database without
                # demo data would not have them); email and SMS templates are
                # kept as the database has them (noupdate: a customised or not
                # yet reloaded template differs from the file), the rendered
                # language tests cover them.
                current = {
                    source
                    for source, refs in terms.items()
                    if not all(_skipped_ref(ref) for ref in refs)
                }
                pot = polib.pofile(
                    str(Path(get_module_path(module)) / "i18n" / f"{module}.pot")
                )
                listed = {
                    entry.msgid
                    for entry in pot
                    if entry.msgid
                    and not all(_skipped_ref(ref) for ref, _line in entry.occurrences)
                }
                self.assertFalse(
                    sorted(current - listed)[:5],
                    f"{module}.pot lacks terms: regenerate it (--i18n-export)",
                )
                self.assertFalse(
                    sorted(listed - current)[:5],
                    f"{module}.pot has terms the add-on no longer has",
                )


def _catalog(module, lang):
    return polib.pofile(str(Path(get_module_path(module)) / "i18n" / f"{lang}.po"))


def _translation(module, lang, reference):
    """The msgstr of the term ``reference`` (a ``#:`` occurrence such as
    ``model:mail.template,subject:shipment_tracking.mail_template_x``)."""
    for entry in _catalog(module, lang):
        if any(ref == reference for ref, _line in entry.occurrences):
            return entry.msgstr
    raise AssertionError(f"{reference} not in {module}/i18n/{lang}.po")


def _static_texts(translated, minimum=4):
    """The words of a translated template that rendering keeps: what lies
    outside ``{{ }}`` expressions, QWeb ``<t>`` elements and tags."""
    text = re.sub(r"\{\{.*?\}\}", "\n", translated, flags=re.S)
    text = re.sub(r"<t\b[^>]*/>|<t\b.*?</t>", "\n", text, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", "\n", text))
    chunks = {" ".join(chunk.split()) for chunk in text.split("\n")}
    return sorted(
        (c.strip(" ,.:;!") for c in chunks if len(c.strip(" ,.:;!")) >= minimum),
        key=len,
        reverse=True,
    )


def _plain(markup):
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup or "")).split())


@tagged("post_install", "-at_install")
class TestRenderedLanguages(ShipmentTrackingCase):
    """What a French or German customer reads: the dispatch email, an update
    email and the portal page, in their language (the words the .po files
    give, none of the English ones)."""

    LANGS = {"fr": "fr_FR", "de": "de_DE"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for code in cls.LANGS.values():
            cls.env["res.lang"]._activate_lang(code)
        cls.env["ir.module.module"]._load_module_terms(
            ["shipment_tracking"], list(cls.LANGS.values()), overwrite=True
        )

    def _dispatched_for(self, lang):
        customer = self.env["res.partner"].create(
            {
                "name": f"Client {lang}",
                "email": f"client.{lang}@example.com",
                "lang": self.LANGS[lang],
            }
        )
        picking = self._create_delivery(partner=customer)
        self._fill_details(picking)
        self._set_tracking(picking)
        self._validate(picking)
        self._run_notification_cron()
        return picking

    def _assert_in_language(self, lang, rendered, reference, english):
        translated = _translation("shipment_tracking", lang, reference)
        expected = _static_texts(translated)[:3]
        self.assertTrue(expected, f"{reference}: nothing static to look for")
        for text in expected:
            self.assertIn(text, rendered, f"{lang}: {reference}")
        for text in _static_texts(english)[:3]:
            self.assertNotIn(text, rendered, f"{lang}: English left in {reference}")

    def test_dispatch_and_update_emails_in_french_and_german(self):
        for lang in self.LANGS:
            with self.subTest(lang=lang):
                picking = self._dispatched_for(lang)
                update = self.env["shipment.tracking.notification"]._enqueue(
                    picking, "out_for_delivery", "test:ofd"
                )
                self._run_notification_cron()
                for message, xmlid in (
                    (
                        picking._get_shipment_dispatch_update().mail_message_id,
                        "mail_template_shipment_dispatched",
                    ),
                    (update.mail_message_id, "mail_template_shipment_out_for_delivery"),
                ):
                    template = self.env.ref(f"shipment_tracking.{xmlid}")
                    english = template.with_context(lang="en_US")
                    self._assert_in_language(
                        lang,
                        message.subject,
                        f"model:mail.template,subject:shipment_tracking.{xmlid}",
                        english.subject,
                    )
                    self._assert_in_language(
                        lang,
                        _plain(message.body),
                        f"model:mail.template,body_html:shipment_tracking.{xmlid}",
                        english.body_html,
                    )


@tagged("post_install", "-at_install")
class TestPortalPageLanguages(ShipmentFixtures, HttpCase):
    """The customer's tracking page in French and German: the headline and
    the page's own words, as the .po files give them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for code in TestRenderedLanguages.LANGS.values():
            cls.env["res.lang"]._activate_lang(code)
        cls.env["ir.module.module"]._load_module_terms(
            ["shipment_tracking"],
            list(TestRenderedLanguages.LANGS.values()),
            overwrite=True,
        )
        cls.picking = cls._create_delivery()
        cls._fill_details(cls.picking)
        cls.picking.with_user(cls.user_logistics).write(
            {"carrier_tracking_ref": "I18N-PAGE-1"}
        )
        cls.picking.with_user(cls.user_warehouse).button_validate()

    def test_tracking_page_in_french_and_german(self):
        for lang, code in TestRenderedLanguages.LANGS.items():
            with self.subTest(lang=lang):
                self.customer.lang = code
                url = self.picking.get_portal_url()
                page = html.unescape(self.url_open(url).text)
                headline = self.picking.with_context(
                    lang=code
                )._get_shipment_headline()["title"]
                self.assertIn(headline, page)
                for msgid in ("Tracking history", "Parcels", "In this shipment"):
                    entry = _catalog("shipment_tracking", lang).find(msgid)
                    self.assertTrue(entry and entry.msgstr, msgid)
                    self.assertIn(entry.msgstr, page)
                    self.assertNotIn(f">{msgid}<", page)

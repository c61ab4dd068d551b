# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import SUPERUSER_ID, api
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

TEMPLATES = (
    "mail_template_shipment_dispatched",
    "mail_template_shipment_out_for_delivery",
    "mail_template_shipment_available_for_pickup",
    "mail_template_shipment_delivered",
    "mail_template_shipment_exception",
    "mail_template_shipment_late",
    "mail_template_shipment_returned",
    "mail_template_shipment_recovered",
)


def migrate(cr, version):
    """The customer emails (noupdate data) now open with the headline and the
    progress and link to the customer's tracking page: reload the templates
    nobody edited since they were installed. Left alone, each logged: a
    template edited in English (write date moved), one with wording in another
    language (before this version the add-on shipped no translations, so any is
    the database owner's own), and one without its source file. Their owners
    may reset them from the template's form."""
    env = api.Environment(cr, SUPERUSER_ID, {})
    for name in TEMPLATES:
        template = env.ref(f"shipment_tracking.{name}", raise_if_not_found=False)
        if not template:
            continue
        if not template.template_fs:
            _logger.info("Template %s has no source file: not reloaded.", name)
            continue
        if template.write_date != template.create_date:
            _logger.info("Template %s was edited: not reloaded.", name)
            continue
        cr.execute(
            SQL(
                """SELECT 1 FROM mail_template
                    WHERE id = %s
                      AND (COALESCE(subject, '{}'::jsonb) - 'en_US' <> '{}'::jsonb
                           OR COALESCE(body_html, '{}'::jsonb) - 'en_US'
                              <> '{}'::jsonb)""",
                template.id,
            )
        )
        if cr.fetchone():
            _logger.info("Template %s has its own translations: not reloaded.", name)
            continue
        template.reset_template()

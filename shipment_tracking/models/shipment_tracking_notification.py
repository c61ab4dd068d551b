# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from ..tools import create_unique

# kind -> (company setting that enables it, mail template xmlid)
NOTIFICATION_KINDS = {
    "out_for_delivery": (
        "shipment_notify_out_for_delivery",
        "shipment_tracking.mail_template_shipment_out_for_delivery",
    ),
    "available_for_pickup": (
        "shipment_notify_available_for_pickup",
        "shipment_tracking.mail_template_shipment_available_for_pickup",
    ),
    "delivered": (
        "shipment_notify_delivered",
        "shipment_tracking.mail_template_shipment_delivered",
    ),
    "exception": (
        "shipment_notify_exception",
        "shipment_tracking.mail_template_shipment_exception",
    ),
    "late": ("shipment_notify_late", "shipment_tracking.mail_template_shipment_late"),
    "returned": (
        "shipment_notify_returned",
        "shipment_tracking.mail_template_shipment_returned",
    ),
    "recovered": (
        "shipment_notify_recovered",
        "shipment_tracking.mail_template_shipment_recovered",
    ),
}


class ShipmentTrackingNotification(models.Model):
    """A customer update waiting for (or done by) the notification cron.

    ``key`` names the event it is about (a status reached, an incident opened
    or recovered); unique per shipment, so no event is ever notified twice."""

    _name = "shipment.tracking.notification"
    _description = "Shipment customer update"
    _order = "id"

    picking_id = fields.Many2one(
        "stock.picking", required=True, ondelete="cascade", index=True
    )
    # Stored for the multi-company record rule.
    company_id = fields.Many2one(
        related="picking_id.company_id", store=True, index=True
    )
    kind = fields.Selection(
        [(kind, kind.replace("_", " ").capitalize()) for kind in NOTIFICATION_KINDS],
        required=True,
    )
    key = fields.Char(required=True)
    incident_id = fields.Many2one("shipment.tracking.incident", ondelete="set null")
    state = fields.Selection(
        [("to_send", "To send"), ("sent", "Queued"), ("skipped", "Skipped")],
        default="to_send",
        required=True,
        index=True,
    )
    message_id = fields.Many2one("mail.message", ondelete="set null")
    note = fields.Char()

    _sql_constraints = [
        ("key_uniq", "unique(picking_id, key)", "An event is notified once."),
    ]

    @api.model
    def _enqueue(self, picking, kind, key, incident=None):
        """Queue ``kind`` for ``picking`` unless that event was queued before
        or the company does not notify it. Safe against concurrent runs."""
        setting, _template = NOTIFICATION_KINDS[kind]
        if not picking.company_id[setting]:
            return self.browse()
        return create_unique(
            self,
            {
                "picking_id": picking.id,
                "kind": kind,
                "key": key,
                "incident_id": incident.id if incident else False,
            },
        )

    def _send(self):
        """Render each update in the customer's language into Odoo's mail
        queue, logged in the delivery's chatter."""
        for notification in self:
            picking = notification.picking_id
            partner = picking._get_shipment_notification_partner()
            if not partner:
                notification.write({"state": "skipped", "note": "no email address"})
                continue
            template = self.env.ref(NOTIFICATION_KINDS[notification.kind][1])
            message = picking.with_context(
                mail_notify_force_send=False,
                shipment_tracking_customer_only=True,
            ).message_post_with_source(
                template,
                email_layout_xmlid="mail.mail_notification_layout",
                subtype_xmlid="mail.mt_comment",
                message_type="comment",
                partner_ids=partner.ids,
            )
            notification.write({"state": "sent", "message_id": message[:1].id})

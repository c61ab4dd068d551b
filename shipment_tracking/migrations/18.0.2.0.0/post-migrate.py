# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import SUPERUSER_ID, api
from odoo.tools import SQL

# The delivery's old dispatch-email state -> the outbox row's email state.
EMAIL_STATES = {
    "to_send": "pending",
    "queued": "outgoing",
    "sent": "sent",
    "failed": "failed",
    "no_email": "no_address",
    "opted_out": "opted_out",
}


def migrate(cr, version):
    """The dispatch email's bookkeeping moves from the delivery to an outbox
    row (kind *dispatched*); the notification cron now runs on the outbox."""
    env = api.Environment(cr, SUPERUSER_ID, {})
    Notification = env["shipment.tracking.notification"]
    # The old columns are still in the table: the fields became computed.
    # They are kept (not dropped) for a later version's migration.
    cr.execute(
        SQL(
            """SELECT p.id, p.shipment_notification_state,
                      p.shipment_notification_attempts,
                      p.shipment_notification_error,
                      p.shipment_notification_message_id,
                      (SELECT m.id FROM mail_mail m
                        WHERE m.mail_message_id = p.shipment_notification_message_id
                        ORDER BY m.id LIMIT 1)
                 FROM stock_picking p
                WHERE p.shipment_notification_state IN %s
                  AND NOT EXISTS (
                      SELECT 1 FROM shipment_tracking_notification n
                       WHERE n.picking_id = p.id AND n.key = 'dispatched')""",
            tuple(EMAIL_STATES),
        )
    )
    vals_list = []
    for picking_id, state, attempts, error, message_id, mail_id in cr.fetchall():
        # A queued email whose mail is gone stays "in the queue": the cron
        # reads what Odoo's notification of the message says (sent or not).
        vals_list.append(
            {
                "picking_id": picking_id,
                "kind": "dispatched",
                "key": "dispatched",
                "email_state": EMAIL_STATES[state],
                "email_attempts": attempts or 0,
                "email_error": error,
                "mail_message_id": message_id,
                "mail_ref": mail_id or 0,
            }
        )
    Notification.create(vals_list)
    # ``state`` was a plain column: compute it from the channels now.
    rows = Notification.search([])
    env.add_to_compute(Notification._fields["state"], rows)
    env.add_to_compute(Notification._fields["next_attempt"], rows)
    rows.flush_recordset()
    cron = env.ref(
        "shipment_tracking.ir_cron_shipment_notification", raise_if_not_found=False
    )
    if cron:
        cron.write(
            {
                "model_id": env.ref(
                    "shipment_tracking.model_shipment_tracking_notification"
                ).id,
                "code": "model._cron_send()",
            }
        )

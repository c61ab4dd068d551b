# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import logging

from odoo import http
from odoo.http import request

from ..models.tracking_formats import PARSERS, VERIFIERS, PayloadError

_logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024


class ShipmentTrackingWebhook(http.Controller):
    @http.route(
        "/shipment_tracking/webhook/<int:carrier_id>",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def shipment_tracking_webhook(self, carrier_id, **_kwargs):
        """Carrier push: authenticate, parse, record. Nothing is written on a
        refused request; duplicates are acknowledged (the carrier stops
        re-sending), unknown tracking numbers are logged, not errors."""
        if (request.httprequest.content_length or 0) > MAX_BODY:
            return self._answer(413, error="body larger than 1 MiB")
        body = request.httprequest.get_data()
        if len(body) > MAX_BODY:
            return self._answer(413, error="body larger than 1 MiB")
        # sudo: a public route; only the carrier's webhook settings are read
        # here, and nothing else before the signature is verified.
        carrier_sudo = (
            request.env["delivery.carrier"].sudo().browse(carrier_id).exists()
        )
        if not carrier_sudo or carrier_sudo.delivery_type != "generic":
            return self._answer(404, error="unknown carrier")
        secret = carrier_sudo.generic_webhook_secret
        fmt = carrier_sudo.generic_webhook_format
        if not secret:
            _logger.warning("webhook refused: carrier %s has no secret", carrier_id)
            return self._answer(401, error="webhooks are disabled for this carrier")
        if not VERIFIERS[fmt](secret, request.httprequest.headers, body):
            _logger.warning("webhook refused: bad signature for carrier %s", carrier_id)
            return self._answer(401, error="missing, invalid or expired signature")
        try:
            payload = json.loads(body)
            events, rejected = PARSERS[fmt](payload)
        except (ValueError, PayloadError) as error:
            return self._answer(400, error=f"malformed payload: {error}")
        # sudo: the carrier is authenticated by its signature, not a user.
        result = (
            request.env["stock.picking"]
            .sudo()
            ._shipment_apply_carrier_events(
                carrier_sudo._generic_map_events(events),
                "webhook",
                carrier=carrier_sudo,
            )
        )
        if result["unknown"]:
            _logger.info(
                "webhook for carrier %s: unknown tracking numbers %s",
                carrier_id,
                ", ".join(result["unknown"]),
            )
        return self._answer(
            200,
            accepted=len(result["created"]),
            duplicates=result["duplicates"],
            unknown=result["unknown"],
            rejected=rejected,
        )

    @staticmethod
    def _answer(status, **values):
        return request.make_json_response(values, status=status)

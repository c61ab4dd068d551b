# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json
import logging

from odoo import http
from odoo.http import request

from ..models.tracking_formats import (
    ENVELOPES,
    PARSERS,
    VERIFIERS,
    PayloadError,
    is_fresh,
)

_logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
# (carrier id, delivery type) pairs of ignored deliveries already logged at
# INFO by this process: aggregators post every type of event to the same URL,
# one line per type is news, one per delivery is noise. Bounded: past the cap
# everything is logged at DEBUG.
IGNORED_KINDS_LOGGED = set()
MAX_IGNORED_KINDS_LOGGED = 1000


class ShipmentTrackingWebhook(http.Controller):
    @http.route(
        "/shipment_tracking/webhook/<int:carrier_id>",
        type="http",
        # The carrier is no user: its signature authenticates it (below).
        auth="none",
        # auth="none" routes default to a read-only transaction: a push writes.
        readonly=False,
        methods=["POST"],
        csrf=False,
        save_session=False,
        # Read by ir.http before Odoo would parse a form body (see ir_http.py).
        shipment_tracking_body_limit=MAX_BODY,
    )
    def shipment_tracking_webhook(self, carrier_id, **_kwargs):
        """Carrier push: authenticate, parse, record. Nothing is written on a
        refused request; duplicates are acknowledged (the carrier stops
        re-sending), unknown tracking numbers are logged, not errors.

        Answers: 413 body over 1 MiB; 404 unknown or archived carrier; 401 no
        secret, bad signature, stale delivery; 400 not JSON or not the format;
        200 otherwise, with the events accepted, duplicated, unknown and
        rejected (and ``ignored`` for deliveries of another kind or replays).
        Serialization failures are left to Odoo, which runs the request
        again."""
        # What the push records is written as the public user, as under
        # auth="public", whose check that this user exists costs a query per
        # push: its id comes from the cached XML id here. Its companies too:
        # env.company (Odoo's defaults, the chatter's reply-to) would read
        # the user's row on every push.
        public_uid = request.env["ir.model.data"]._xmlid_to_res_id("base.public_user")
        companies = request.env["ir.http"]._shipment_allowed_company_ids(public_uid)
        context = dict(request.env.context)
        if companies:
            context["allowed_company_ids"] = list(companies)
        request.update_env(user=public_uid, context=context)
        body = request.env["ir.http"]._shipment_read_body(MAX_BODY)
        if body is None:
            return self._answer(413, error="body larger than 1 MiB")
        # sudo: a public route; only the carrier's webhook settings are read
        # here, and nothing else before the signature is verified. One query:
        # the search leaves out archived carriers (active_test) and other
        # types, and fetches the two settings, not the carrier's every column.
        carrier_sudo = (
            request.env["delivery.carrier"]
            .sudo()
            .search_fetch(
                [("id", "=", carrier_id), ("delivery_type", "=", "generic")],
                ["generic_webhook_secret", "generic_webhook_format"],
                limit=1,
            )
        )
        if not carrier_sudo:
            # Archived carriers answer as unknown ones: nobody learns which
            # ids exist.
            return self._answer(404, error="unknown carrier")
        secret = carrier_sudo.generic_webhook_secret
        fmt = carrier_sudo.generic_webhook_format
        if not secret:
            _logger.warning("webhook refused: carrier %s has no secret", carrier_id)
            # The same answer as a bad signature: nobody learns which carriers
            # have webhooks turned on.
            return self._answer(401, error="missing, invalid or expired signature")
        if not VERIFIERS[fmt](secret, request.httprequest.headers, body):
            _logger.warning("webhook refused: bad signature for carrier %s", carrier_id)
            return self._answer(401, error="missing, invalid or expired signature")
        try:
            payload = json.loads(body)
            envelope = ENVELOPES[fmt](payload)
        except RecursionError:
            return self._answer(400, error="malformed payload: nested too deeply")
        except (ValueError, PayloadError) as error:
            return self._answer(400, error=f"malformed payload: {error}")
        if not is_fresh(envelope):
            _logger.warning(
                "webhook refused: stale delivery for carrier %s", carrier_id
            )
            return self._answer(401, error="missing, invalid or expired signature")
        if not envelope.relevant:
            self._log_ignored(carrier_id, envelope.kind)
            return self._answer(200, ignored=True, reason="not a tracking update")
        try:
            events, rejected = PARSERS[fmt](payload)
        except PayloadError as error:
            return self._answer(400, error=f"malformed payload: {error}")
        # sudo: the delivery log is system bookkeeping of an authenticated
        # carrier.
        Delivery = request.env["shipment.tracking.webhook.delivery"].sudo()
        if envelope.delivery_id and not Delivery._claim(
            carrier_sudo, envelope.delivery_id
        ):
            _logger.info(
                "webhook for carrier %s: delivery %s seen before, ignored",
                carrier_id,
                envelope.delivery_id,
            )
            return self._answer(200, ignored=True, reason="delivery seen before")
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
        rejected += result["rejected"]
        return self._answer(
            200,
            accepted=len(result["created"]),
            duplicates=result["duplicates"],
            unknown=result["unknown"],
            rejected=sorted(rejected, key=lambda item: item["index"]),
        )

    @staticmethod
    def _log_ignored(carrier_id, kind):
        """Log a delivery of another type once per carrier and type (INFO),
        then at DEBUG."""
        key = (carrier_id, kind)
        first = (
            key not in IGNORED_KINDS_LOGGED
            and len(IGNORED_KINDS_LOGGED) < MAX_IGNORED_KINDS_LOGGED
        )
        if first:
            IGNORED_KINDS_LOGGED.add(key)
        _logger.log(
            logging.INFO if first else logging.DEBUG,
            "webhook for carrier %s: %r deliveries are not tracking updates, "
            "acknowledged and ignored",
            carrier_id,
            kind,
        )

    @staticmethod
    def _answer(status, **values):
        return request.make_json_response(values, status=status)

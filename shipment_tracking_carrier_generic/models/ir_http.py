# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from odoo import api, models, tools
from odoo.http import request

READ_CHUNK = 64 * 1024
# Where the body read once is kept for the request's life: Odoo runs the
# route again after a serialization failure, and the stream reads only once.
BODY_KEY = "shipment_tracking.body"


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    @classmethod
    def _pre_dispatch(cls, rule, args):
        """Routes with ``shipment_tracking_body_limit=<bytes>`` read their body
        here, at most that many bytes plus one, before Odoo parses a
        form-encoded body (which it reads whole, chunked or not); a longer
        body is answered 413."""
        result = super()._pre_dispatch(rule, args)
        limit = rule.endpoint.routing.get("shipment_tracking_body_limit")
        if limit and cls._shipment_read_body(limit) is None:
            raise RequestEntityTooLarge(
                response=request.make_json_response(
                    {"error": f"body larger than {limit} bytes"}, status=413
                )
            )
        return result

    @api.model
    @tools.ormcache("uid")
    def _shipment_allowed_company_ids(self, uid):
        """The companies of user ``uid``, its default company first: the
        ``allowed_company_ids`` under which ``env.company`` is the company it
        would be without them, from the cache instead of the user's row on
        every request (Odoo clears the cache when a user's companies change,
        see ``res.users._get_invalidation_fields``); none when the default
        company is archived. For public routes that
        set their user, such as the carriers' webhook: here rather than on
        res.users, whose inheritance would make this add-on translate the
        model's name."""
        # sudo: a public route asks for the public user's companies before
        # any user is set; only their ids are returned.
        user_sudo = self.env["res.users"].sudo().browse(uid)
        main = user_sudo.company_id.id
        companies = user_sudo._get_company_ids()
        if main not in companies:
            # An archived default company (the public user is archived, so
            # Odoo lets it happen): Odoo's own choice, from the user's row.
            return ()
        return (main, *(cid for cid in companies if cid != main))

    @classmethod
    def _shipment_read_body(cls, limit):
        """The raw body, or None when it is longer than ``limit``: at most
        ``limit + 1`` bytes are read whatever the sender announced (a chunked
        body has no length), so memory does not grow with what is sent."""
        environ = request.httprequest.environ
        if BODY_KEY not in environ:
            environ[BODY_KEY] = cls._shipment_read_stream(limit)
        return environ[BODY_KEY]

    @classmethod
    def _shipment_read_stream(cls, limit):
        httprequest = request.httprequest
        if (httprequest.content_length or 0) > limit:
            return None
        # get_data() would read a chunked body whole, and Odoo's request
        # wrapper does not expose werkzeug's stream (bounded by Content-Length
        # when there is one): read it ourselves.
        stream = httprequest._HTTPRequest__wrapped.stream
        chunks, size = [], 0
        try:
            while size <= limit:
                chunk = stream.read(min(READ_CHUNK, limit + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except (OSError, ValueError) as error:
            # A broken chunked encoding, or a sender that hung up mid-body.
            raise BadRequest(
                response=request.make_json_response(
                    {"error": "malformed request body"}, status=400
                )
            ) from error
        return b"".join(chunks) if size <= limit else None

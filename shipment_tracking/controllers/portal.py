# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from urllib.parse import urlsplit

from werkzeug.exceptions import NotFound

from odoo import _
from odoo.exceptions import AccessError, MissingError
from odoo.http import request, route
from odoo.tools import formatLang

from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager


class ShipmentPortal(CustomerPortal):
    """Customer portal pages where customers follow their parcels: the list of
    their deliveries and one page per shipment with its tracking timeline,
    proof of delivery and a chatter to ask questions."""

    _shipments_per_page = 20

    # ------------------------------------------------------------------
    # Portal home
    # ------------------------------------------------------------------
    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        if "shipment_count" in counters:
            Picking = request.env["stock.picking"]
            partner = request.env.user.partner_id
            values["shipment_count"] = (
                Picking.search_count(self._prepare_shipments_domain(partner))
                if Picking.has_access("read")
                else 0
            )
        return values

    # ------------------------------------------------------------------
    # Shipment list
    # ------------------------------------------------------------------
    def _prepare_shipments_domain(self, partner):
        """The deliveries of the partner's commercial entity; record rules
        narrow it further to what the user may read."""
        return [
            ("picking_type_code", "=", "outgoing"),
            ("partner_id", "child_of", partner.commercial_partner_id.id),
        ]

    def _get_shipment_searchbar_sortings(self):
        return {
            "date": {
                "label": _("Newest"),
                "order": "shipment_date desc nulls first, scheduled_date desc, id desc",
            },
            "status": {
                "label": _("Status"),
                "order": "shipment_state, shipment_date desc, id desc",
            },
            "edd": {
                "label": _("Estimated Delivery"),
                "order": "expected_delivery_date nulls last, id desc",
            },
        }

    def _prepare_shipments_portal_rendering_values(self, page=1, sortby=None, **kwargs):
        Picking = request.env["stock.picking"]
        partner = request.env.user.partner_id
        domain = self._prepare_shipments_domain(partner)
        searchbar_sortings = self._get_shipment_searchbar_sortings()
        if sortby not in searchbar_sortings:
            sortby = "date"
        pager_values = portal_pager(
            url="/my/shipments",
            total=Picking.search_count(domain),
            page=page,
            step=self._shipments_per_page,
            url_args={"sortby": sortby},
        )
        shipments = Picking.search(
            domain,
            order=searchbar_sortings[sortby]["order"],
            limit=self._shipments_per_page,
            offset=pager_values["offset"],
        )
        values = self._prepare_portal_layout_values()
        values.update(
            {
                # sudo: the search above applied the user's access rules; the
                # list also shows the carrier, which portal users cannot read.
                "shipments": shipments.sudo(),
                "page_name": "shipment",
                "pager": pager_values,
                "default_url": "/my/shipments",
                "searchbar_sortings": searchbar_sortings,
                "sortby": sortby,
            }
        )
        return values

    @route(
        ["/my/shipments", "/my/shipments/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
    )
    def portal_my_shipments(self, **kwargs):
        values = self._prepare_shipments_portal_rendering_values(**kwargs)
        request.session["my_shipments_history"] = values["shipments"].ids[:100]
        return request.render("shipment_tracking.portal_my_shipments", values)

    # ------------------------------------------------------------------
    # Shipment page
    # ------------------------------------------------------------------
    @route(
        ["/my/shipments/<int:picking_id>"],
        type="http",
        auth="public",
        website=True,
    )
    def portal_my_shipment(self, picking_id, access_token=None, **kwargs):
        """One shipment, for whoever may read it or holds its access token.

        Anyone else gets the same bare 404 whether the shipment exists or not
        (as sale_stock does for delivery slips)."""
        try:
            picking_sudo = self._document_check_access(
                "stock.picking", picking_id, access_token=access_token
            )
        except (AccessError, MissingError):
            raise NotFound() from None
        if not picking_sudo.is_shipment:
            raise NotFound()
        lang = self._shipment_visitor_lang(picking_sudo)
        if lang:
            request.update_context(lang=lang)
            picking_sudo = picking_sudo.with_context(lang=lang)
        values = self._prepare_shipment_page_values(
            picking_sudo, access_token, **kwargs
        )
        return request.render("shipment_tracking.portal_my_shipment", values)

    def _shipment_visitor_lang(self, picking_sudo):
        """The customer's language for a visitor who came by the email's
        token link (not signed in): the page speaks as the emails do. A
        signed-in user keeps their own language."""
        if not request.env.user._is_public():
            return False
        partner = picking_sudo._get_shipment_notification_partner()
        lang = (partner or picking_sudo.partner_id).lang
        installed = dict(request.env["res.lang"].get_installed())
        return lang if lang in installed and lang != request.env.lang else False

    def _prepare_shipment_page_values(self, picking_sudo, access_token, **kwargs):
        values = {
            "page_name": "shipment",
            "shipment": picking_sudo,
            "parcels": self._prepare_shipment_parcels(picking_sudo),
            "headline": picking_sudo._get_shipment_headline(),
            "progress": picking_sudo._get_shipment_progress(),
            "timeline": picking_sudo._get_shipment_timeline(),
            "lines": self._prepare_shipment_lines(picking_sudo),
            "proof_of_delivery": self._prepare_shipment_proof_of_delivery(picking_sudo),
            "backend_url": "/odoo/action-shipment_tracking."
            f"stock_picking_shipment_action/{picking_sudo.id}",
            "res_company": picking_sudo.company_id,
        }
        # Portal users only read deliveries and posting needs write access or
        # the token: give the chatter the token whoever opened the page.
        return self._get_page_view_values(
            picking_sudo,
            access_token or picking_sudo._portal_ensure_token(),
            values,
            "my_shipments_history",
            False,
            **kwargs,
        )

    def _prepare_shipment_parcels(self, picking_sudo):
        """One entry per parcel: tracking number, package and tracking link."""
        numbers = picking_sudo.tracking_number_ids
        if not numbers and picking_sudo.carrier_tracking_ref:
            return [
                {
                    "name": picking_sudo.carrier_tracking_ref,
                    "package": False,
                    "url": self._shipment_safe_url(picking_sudo.carrier_tracking_url),
                }
            ]
        return [
            {
                "name": number.name,
                "package": number.package_id.name,
                "url": self._shipment_safe_url(number.tracking_url),
            }
            for number in numbers
        ]

    def _prepare_shipment_lines(self, picking_sudo):
        """What the parcel holds: product and quantity of each move."""
        lang = request.env.lang
        lines = []
        for move in picking_sudo.move_ids:
            if move.state == "cancel":
                continue
            qty = move.quantity or move.product_uom_qty
            amount = formatLang(
                request.env, qty, digits=0 if float(qty).is_integer() else 2
            )
            uom = move.product_uom.with_context(lang=lang)
            lines.append(
                {
                    "product": move.product_id.with_context(lang=lang).display_name,
                    "quantity": f"{amount} {uom.name}",
                }
            )
        return lines

    def _prepare_shipment_proof_of_delivery(self, picking_sudo):
        """Who received the parcel and the carrier's links, once delivered."""
        if picking_sudo.shipment_state != "delivered":
            return {}
        pod = {
            "signed_by": picking_sudo.shipment_pod_signed_by,
            "signature_url": self._shipment_safe_url(
                picking_sudo.shipment_pod_signature_url
            ),
            "photo_url": self._shipment_safe_url(picking_sudo.shipment_pod_photo_url),
        }
        return pod if any(pod.values()) else {}

    @staticmethod
    def _shipment_safe_url(url):
        """The URL when it is a web link, else False: links come from carriers
        and must not smuggle ``javascript:`` or ``data:`` URLs into a page."""
        url = (url or "").strip()
        try:
            scheme = urlsplit(url).scheme
        except ValueError:  # e.g. a malformed IPv6 host
            return False
        return url if scheme in ("http", "https") else False

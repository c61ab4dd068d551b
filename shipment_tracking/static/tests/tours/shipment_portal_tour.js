/** @odoo-module **/
/* Copyright 2026 Shipment Tracking Contributors
 * License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */

import {registry} from "@web/core/registry";

/**
 * A portal customer finds their shipment from the portal home, reads the
 * carrier's latest news and asks a question in the chatter.
 * Started by TestPortal.test_shipment_portal_tour (tests/test_portal.py), which
 * creates the data.
 */
registry.category("web_tour.tours").add("shipment_portal_tour", {
    url: "/my",
    steps: () => [
        {
            content: "Open the Shipments entry of the portal home",
            trigger: ".o_portal_index_card a[href='/my/shipments']",
            run: "click",
        },
        {
            content: "Open the shipment",
            trigger: ".o_portal_shipment_row a:contains(SHP/TOUR/0001)",
            run: "click",
        },
        {
            content: "The timeline shows the carrier's latest event",
            trigger:
                "#shipment_timeline .o_shipment_event:contains(Arrived at hub Tourville)",
        },
        {
            content: "Write a question in the chatter",
            trigger: "#chatterRoot:shadow .o-mail-Composer-input",
            run: "edit When will my parcel arrive?",
        },
        {
            content: "Send it",
            trigger: "#chatterRoot:shadow .o-mail-Composer-send:enabled",
            run: "click",
        },
        {
            content: "The question appears in the chatter",
            trigger:
                "#chatterRoot:shadow .o-mail-Message-body:contains(When will my parcel arrive?)",
        },
    ],
});

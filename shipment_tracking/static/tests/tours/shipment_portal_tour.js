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
            content: "The list says where the parcel is in plain words",
            trigger: ".o_portal_shipment_row:contains(SHP/TOUR/0001) .o_shipment_list_headline:not(:empty)",
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

/**
 * Fails the tour when the page is wider than the window (something would
 * scroll sideways).
 */
function noHorizontalOverflow() {
    return {
        content: "Nothing is wider than the screen",
        trigger: "#shipment_communication",
        run() {
            const width = document.documentElement.scrollWidth;
            if (width > window.innerWidth) {
                throw new Error(
                    `The page is ${width}px wide in a ${window.innerWidth}px window`
                );
            }
        },
    };
}

/**
 * The customer's page read from the token link, at phone and desktop sizes.
 * Started by TestPortalPageTours (tests/test_portal.py), which creates a
 * shipment in transit with a very long tracking number, and events on two
 * days, one of them with a carrier code that maps to no status.
 */
registry.category("web_tour.tours").add("shipment_portal_page_tour", {
    steps: () => [
        {
            content: "The page leads with a sentence and a date",
            trigger: "#shipment_headline .o_shipment_headline_title:contains(Arriving)",
        },
        {
            content: "The progress bar: shipped, now in transit",
            trigger:
                "#shipment_progress .o_shipment_step_done.o_shipment_step_dispatched + .o_shipment_step_current.o_shipment_step_in_transit",
        },
        {
            content: "Out for delivery and delivered are still to come",
            trigger:
                "#shipment_progress .o_shipment_step_todo.o_shipment_step_out_for_delivery + .o_shipment_step_todo.o_shipment_step_delivered",
        },
        {
            content: "The timeline is grouped by day, newest first",
            trigger:
                "#shipment_timeline .o_shipment_day:first .o_shipment_event:contains(Arrived at hub Tourville)",
        },
        {
            content: "A carrier code without a status shows the carrier's words",
            trigger:
                "#shipment_timeline .o_shipment_day:eq(1) .o_shipment_event_title:contains(Held at depot for sorting)",
        },
        {
            content: "No event is blank",
            trigger: "#shipment_timeline:not(:has(.o_shipment_event_title:empty))",
        },
        {
            content: "The parcel links to the carrier's page",
            trigger: "#shipment_parcels .o_shipment_parcel a.o_shipment_tracking_link[target=_blank]",
        },
        {
            content: "The order's lines are listed",
            trigger: "#shipment_lines .o_shipment_line:contains(Lamp)",
        },
        noHorizontalOverflow(),
        {
            content: "Ask a question from the headline",
            trigger: "#shipment_headline a[href='#discussion']",
            run: "click",
        },
        {
            content: "The question box is there",
            trigger: "#chatterRoot:shadow .o-mail-Composer-input",
        },
    ],
});

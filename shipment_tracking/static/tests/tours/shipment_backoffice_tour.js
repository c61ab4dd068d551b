/** @odoo-module **/
/* Copyright 2026 Shipment Tracking Contributors
 * License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl). */

import {registry} from "@web/core/registry";

/**
 * Back-office tours started by TestBackofficeTours (tests/test_tours.py), which
 * creates the data: deliveries named TOUR/OUT/0001 (validation tour),
 * TOUR/OUT/0002 (with a customer question) and TOUR/OUT/0003 (without one).
 */

function openShipment(name) {
    return [
        {
            content: `Search the delivery ${name}`,
            trigger: ".o_searchview_input",
            run: `edit ${name} && press Enter`,
        },
        {
            trigger: `.o_searchview_facet:contains(${name})`,
        },
        {
            content: "Open it",
            trigger: `.o_data_row td[name=name]:contains(${name})`,
            run: "click",
        },
        {
            content: "The form shows the delivery",
            trigger: `.o_form_view .oe_title:contains(${name})`,
        },
    ];
}

/**
 * The warehouse worker validates a delivery: refused while the parcel has no
 * dimensions, accepted once they are entered.
 */
registry.category("web_tour.tours").add("shipment_warehouse_validation_tour", {
    url: "/odoo/action-shipment_tracking.stock_picking_shipment_action",
    steps: () => [
        ...openShipment("TOUR/OUT/0001"),
        {
            content: "Validate without parcel details",
            trigger: ".o_form_view button[name=button_validate]",
            run: "click",
        },
        {
            content: "The validation is refused and says what is missing",
            trigger: ".modal .o_error_dialog:contains(length must be greater than 0)",
        },
        {
            content: "Close the error",
            trigger: ".modal .modal-footer button:contains(Close)",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
        {
            content: "Enter the length",
            trigger: "div[name=shipment_length] input",
            run: "edit 30",
        },
        {
            content: "Enter the width",
            trigger: "div[name=shipment_width] input",
            run: "edit 20",
        },
        {
            content: "Enter the height",
            trigger: "div[name=shipment_height] input",
            run: "edit 10",
        },
        {
            content: "Save",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            trigger: ".o_form_saved",
        },
        {
            content: "Validate again",
            trigger: ".o_form_view button[name=button_validate]",
            run: "click",
        },
        {
            content: "The delivery is done",
            trigger: ".o_statusbar_status button.o_arrow_button_current[data-value=done]",
        },
        {
            content: "It got a shipment ID",
            trigger: "div[name=shipment_ref] span:not(:empty)",
        },
        {
            content: "The shipment badge shows",
            trigger: ".oe_title div[name=shipment_state] .badge",
        },
        {
            content: "The dimensions are kept, read-only now",
            trigger: "div[name=shipment_length]:not(:has(input)):contains(30)",
        },
    ],
});

/**
 * Customer Service finds the deliveries with an open customer question and
 * answers one from the chatter.
 */
registry.category("web_tour.tours").add("shipment_needs_reply_tour", {
    url: "/odoo/action-shipment_tracking.stock_picking_shipment_action",
    steps: () => [
        {
            content: "Open the search options",
            trigger: ".o_control_panel_actions .o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            content: "Filter on Needs Reply",
            trigger: ".o_filter_menu .o_menu_item:contains(Needs Reply)",
            run: "click",
        },
        {
            content: "The filter is applied",
            trigger: ".o_searchview_facet:contains(Needs Reply)",
        },
        {
            content: "The delivery with a question is listed",
            trigger: ".o_data_row td[name=name]:contains(TOUR/OUT/0002)",
        },
        {
            content: "The delivery without a question is not",
            trigger: ".o_list_view:not(:has(.o_data_row:contains(TOUR/OUT/0003)))",
        },
        {
            content: "Open it",
            trigger: ".o_data_row td[name=name]:contains(TOUR/OUT/0002)",
            run: "click",
        },
        {
            content: "The customer's question is in the chatter",
            trigger: ".o-mail-Message-body:contains(Where is my parcel?)",
        },
        {
            content: "The form flags the open question",
            trigger: "div[name=shipment_inquiry_date] span:not(:empty)",
        },
        {
            content: "Answer the customer",
            trigger: ".o-mail-Chatter-sendMessage",
            run: "click",
        },
        {
            content: "Write the answer",
            trigger: ".o-mail-Composer-input",
            run: "edit It left our warehouse this morning.",
        },
        {
            content: "Send it",
            trigger: ".o-mail-Composer-send:enabled",
            run: "click",
        },
        {
            content: "The answer appears in the chatter",
            trigger: ".o-mail-Message-body:contains(It left our warehouse this morning.)",
        },
        {
            content: "The form reloads: the question flag is gone",
            trigger: ".o_form_view:not(:has(div[name=shipment_inquiry_date]))",
        },
        {
            content: "Back to the list, still filtered on Needs Reply",
            trigger: ".o_breadcrumb .breadcrumb-item.o_back_button",
            run: "click",
        },
        {
            content: "The answered delivery no longer needs a reply",
            trigger:
                "body:not(:has(.o_form_view)) .o_list_view:not(:has(.o_data_row:contains(TOUR/OUT/0002)))",
        },
        {
            trigger: ".o_searchview_facet:contains(Needs Reply)",
        },
    ],
});

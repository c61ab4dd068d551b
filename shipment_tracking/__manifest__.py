# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Shipment Tracking",
    "summary": "Record parcel details at validation, track shipments and notify "
    "customers on dispatch",
    "version": "18.0.2.4.3",
    "category": "Inventory/Delivery",
    "website": "https://github.com/shipment-tracking/shipment-tracking",
    "author": "Shipment Tracking Contributors",
    "maintainers": ["shipment-tracking"],
    "license": "LGPL-3",
    "development_status": "Beta",
    "application": False,
    "installable": True,
    "depends": ["stock_delivery", "sale_stock", "resource", "portal"],
    "data": [
        "security/shipment_tracking_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron_data.xml",
        "data/mail_template_data.xml",
        "wizards/stock_picking_update_shipment_views.xml",
        "views/stock_picking_views.xml",
        "views/stock_quant_package_views.xml",
        "views/shipment_tracking_notification_views.xml",
        "views/delivery_carrier_views.xml",
        "views/res_config_settings_views.xml",
        "views/shipment_tracking_menus.xml",
        "views/portal_templates.xml",
    ],
    "assets": {
        "web.assets_frontend": [
            "shipment_tracking/static/src/scss/shipment_portal.scss",
        ],
        "web.assets_tests": [
            "shipment_tracking/static/tests/tours/*.js",
        ],
    },
    "pre_init_hook": "pre_init_hook",
    "demo": [
        "demo/res_users_demo.xml",
        "demo/shipment_tracking_demo.xml",
    ],
}

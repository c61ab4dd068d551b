# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Shipment Tracking: SMS Notifications",
    "summary": "Text the customer on dispatch and on shipment updates, with opt-out, "
    "number checks and an HTTP SMS gateway",
    "version": "18.0.2.1.4",
    "category": "Inventory/Delivery",
    "website": "https://github.com/shipment-tracking/shipment-tracking",
    "author": "Shipment Tracking Contributors",
    "maintainers": ["shipment-tracking"],
    "license": "LGPL-3",
    "development_status": "Beta",
    "installable": True,
    "depends": ["shipment_tracking", "sms", "stock_sms"],
    "external_dependencies": {"python": ["phonenumbers", "requests"]},
    "data": [
        "data/sms_template_data.xml",
        "views/res_config_settings_views.xml",
        "views/res_partner_views.xml",
        "views/sms_sms_views.xml",
        "views/sms_template_views.xml",
        "views/stock_picking_views.xml",
        "views/shipment_tracking_notification_views.xml",
    ],
    "pre_init_hook": "pre_init_hook",
}

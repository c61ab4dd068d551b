# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Shipment Tracking: Generic HTTP Carrier",
    "summary": "Book shipments and receive tracking by webhook and polling over a "
    "documented JSON protocol; EasyPost and AfterShip webhooks",
    "version": "18.0.1.4.1",
    "category": "Inventory/Delivery",
    "website": "https://github.com/shipment-tracking/shipment-tracking",
    "author": "Shipment Tracking Contributors",
    "maintainers": ["shipment-tracking"],
    "license": "LGPL-3",
    "development_status": "Beta",
    "installable": True,
    "depends": ["shipment_tracking"],
    "external_dependencies": {"python": ["requests", "urllib3"]},
    "data": [
        "security/ir.model.access.csv",
        "security/shipment_tracking_carrier_generic_security.xml",
        "views/delivery_carrier_views.xml",
    ],
    "demo": ["demo/delivery_carrier_demo.xml"],
    "uninstall_hook": "uninstall_hook",
}

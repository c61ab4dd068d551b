# Copyright 2026 Shipment Tracking Contributors
# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
{
    "name": "Shipment Tracking: Delivery State bridge",
    "summary": "Feed OCA delivery_state's carrier state, dates and delivered email "
    "from the shipment status of shipment_tracking",
    "version": "18.0.1.0.2",
    "category": "Inventory/Delivery",
    "website": "https://github.com/shipment-tracking/shipment-tracking",
    "author": "Shipment Tracking Contributors",
    "maintainers": ["shipment-tracking"],
    # AGPL: it extends delivery_state (OCA/delivery-carrier), which is AGPL-3.
    "license": "AGPL-3",
    "development_status": "Beta",
    "installable": True,
    "auto_install": True,
    "depends": ["shipment_tracking", "delivery_state"],
}

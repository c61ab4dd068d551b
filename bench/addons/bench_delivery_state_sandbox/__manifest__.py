# Copyright 2026 Shipment Tracking Contributors
# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl).
{
    "name": "Bench: delivery_state adapter for the sandbox carrier",
    "summary": "Benchmark only: OCA delivery_state's per-shipment tracking update "
    "for the generic carrier, one GET /v1/tracking/<number> per delivery",
    "version": "18.0.1.0.0",
    "category": "Hidden",
    "website": "https://github.com/shipment-tracking/shipment-tracking",
    "author": "Shipment Tracking Contributors",
    # AGPL: it extends delivery_state (OCA/delivery-carrier), which is AGPL-3.
    "license": "AGPL-3",
    "installable": True,
    "depends": ["delivery_state", "shipment_tracking_carrier_generic"],
}

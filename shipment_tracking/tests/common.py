# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from freezegun import freeze_time

from odoo.tests import Form, HttpCase, TransactionCase, new_test_user

# The day every test starts on, whatever day the suite runs: a Thursday, so
# that working-day EDDs cross a weekend. The clock ticks from there (HTTP
# timeouts and rate limits still see time pass); a test that needs another
# moment nests its own freeze_time.
TEST_NOW = "2026-11-26 08:00:00"


class ShipmentFixtures:
    """Fixtures built from our own records (no demo data): the three roles, a
    customer, storable products in stock, and a carrier with a tracking link.
    A mixin so that TransactionCase and HttpCase tests share them.

    Everything runs on a clock that starts at ``TEST_NOW``, so no result
    depends on the day the suite runs (CI also runs the time-dependent
    classes, tagged ``shipment_clock``, under a clock shifted a year ahead).
    Not in HttpCase: freezegun hands the real time to calls made close to a
    thread's start (the HTTP server's and the sandbox's threads), so a frozen
    test thread would disagree with them; those tests use the real clock and
    assert nothing that depends on the date."""

    shipment_test_now = TEST_NOW

    @classmethod
    def _start_shipment_clock(cls):
        cls.startClassPatcher(freeze_time(cls.shipment_test_now, tick=True))

    @classmethod
    def _setup_shipment_fixtures(cls):
        cls.company = cls.env.company
        cls.company.stock_move_email_validation = False
        cls.warehouse = cls.env["stock.warehouse"].search(
            [("company_id", "=", cls.company.id)], limit=1
        )
        cls.stock_location = cls.warehouse.lot_stock_id
        cls.user_warehouse = new_test_user(
            cls.env,
            "st_warehouse",
            groups="stock.group_stock_user",
            name="Wes Warehouse",
        )
        cls.user_logistics = new_test_user(
            cls.env,
            "st_logistics",
            groups="stock.group_stock_manager",
            name="Lou Logistics",
        )
        cls.user_cs = new_test_user(
            cls.env,
            "st_cs",
            groups="sales_team.group_sale_salesman",
            name="Cass Service",
        )
        cls.customer = cls.env["res.partner"].create(
            {
                "name": "Harbor Outfitters",
                "email": "orders@harbor.example",
                "country_id": cls.env.ref("base.us").id,
                "street": "1 Market St",
                "city": "San Francisco",
                "zip": "94105",
                "user_id": cls.user_cs.id,
            }
        )
        cls.products = cls.env["product.product"].create(
            [
                {
                    "name": name,
                    "type": "consu",
                    "is_storable": True,
                    "weight": weight,
                    "list_price": 10.0,
                }
                for name, weight in (("Mug", 0.35), ("Lamp", 1.8), ("Tea Tin", 0.25))
            ]
        )
        for product in cls.products:
            cls.env["stock.quant"]._update_available_quantity(
                product, cls.stock_location, 1000
            )
        cls.delivery_product = cls.env["product.product"].create(
            {"name": "Shipping", "type": "service", "list_price": 5.0}
        )
        cls.carrier = cls.env["delivery.carrier"].create(
            {
                "name": "Test Express",
                "delivery_type": "fixed",
                "fixed_price": 5.0,
                "product_id": cls.delivery_product.id,
                "shipment_transit_days": 2,
                "tracking_url": "https://track.example/t?n=<ShipmentTrackingNumber>",
            }
        )

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not issubclass(cls, HttpCase):
            cls._start_shipment_clock()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls._setup_shipment_fixtures()

    @classmethod
    def _create_order(cls, partner=None, carrier=None, qty=2, user=None):
        order = cls.env["sale.order"].create(
            {
                "partner_id": (partner or cls.customer).id,
                "user_id": (user or cls.user_cs).id,
                "carrier_id": (carrier or cls.carrier).id,
                "order_line": [
                    (0, 0, {"product_id": product.id, "product_uom_qty": qty})
                    for product in cls.products
                ],
            }
        )
        order.action_confirm()
        return order

    @classmethod
    def _other_company_delivery(cls):
        """An outgoing delivery of a second company, with the same carrier."""
        company = cls.env["res.company"].create({"name": "Other Shipping Co"})
        warehouse = cls.env["stock.warehouse"].search(
            [("company_id", "=", company.id)], limit=1
        )
        return cls.env["stock.picking"].create(
            {
                "picking_type_id": warehouse.out_type_id.id,
                "company_id": company.id,
                "partner_id": cls.customer.id,
                "carrier_id": cls.carrier.id,
            }
        )

    @classmethod
    def _create_delivery(cls, **kwargs):
        picking = cls._create_order(**kwargs).picking_ids
        picking.ensure_one()
        return picking

    @staticmethod
    def _fill_details(picking, length=30.0, width=20.0, height=10.0):
        picking.write(
            {
                "shipment_length": length,
                "shipment_width": width,
                "shipment_height": height,
            }
        )


class ShipmentTrackingCase(ShipmentFixtures, TransactionCase):
    def _set_tracking(self, picking, ref="AbC123xyz", edd=None):
        wizard = Form(
            self.env["stock.picking.update.shipment"]
            .with_user(self.user_logistics)
            .with_context(default_picking_id=picking.id)
        )
        wizard.carrier_tracking_ref = ref
        if edd:
            wizard.expected_delivery_date = edd
        wizard.save().action_apply()

    def _validate(self, picking, user=None):
        """A warehouse worker clicks Validate (an interactive validation,
        which checks the shipment details; see
        ``stock.picking._shipment_is_interactive_validation``)."""
        return (
            picking.with_user(user or self.user_warehouse)
            .with_context(shipment_check_details=True)
            .button_validate()
        )

    def _run_notification_cron(self, **kwargs):
        """Run the notification cron as Odoo's cron runner does: call it again
        while it took messages (bounded: it sends one batch per call); return
        the number of calls that took some."""
        Notification = self.env["shipment.tracking.notification"]
        calls = 0
        for _call in range(100):
            if not Notification._cron_send(**kwargs):
                return calls
            calls += 1
        raise AssertionError("the notification cron never ran out of work")

    def _notification_mails(self, pickings):
        return self.env["mail.mail"].search(
            [("model", "=", "stock.picking"), ("res_id", "in", pickings.ids)]
        )

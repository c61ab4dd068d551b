# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from lxml import etree

from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestViews(TransactionCase):
    def test_pivot_and_graph_measures_can_be_summed(self):
        """A measure without an aggregator (a Boolean) makes the web client
        refuse to open the view ("No aggregate function has been provided")."""
        views = self.env["ir.ui.view"].search(
            [
                ("type", "in", ("pivot", "graph")),
                ("model_data_id.module", "like", "shipment_tracking%"),
            ]
        )
        self.assertTrue(views)
        for view in views:
            Model = self.env[view.model]
            arch = etree.fromstring(Model.get_view(view.id, view.type)["arch"])
            for node in arch.iter("field"):
                if node.get("type") != "measure":
                    continue
                field = Model._fields[node.get("name")]
                with self.subTest(view=view.xml_id, field=field.name):
                    self.assertTrue(field.aggregator, f"{field.name} has no aggregator")

#!/usr/bin/env python3
# Copyright 2026 Shipment Tracking Contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Run other modules' Odoo test suites against a database where every add-on
is installed, with the whole registry loaded: odoo-bin, except that the
at_install tests of the selected modules run together with their post_install
tests, after the registry is complete.

Why: odoo-bin runs a module's at_install tests while that module loads, before
the modules that depend on it (ours) are in the registry, so Odoo's own
stock_delivery/delivery/sale_stock tests would never meet our overrides. Here
they do, as they would in a database where our add-ons are installed.

Usage: same arguments as odoo-bin, e.g.
    odoo_suites.py -d DB --test-enable --test-tags /stock_delivery,/delivery \
        --stop-after-init
The test tags select the tests as usual; the summary line is Odoo's
("N failed, M error(s) of K tests when loading database ...").
"""

import os

# As odoo-bin: the server's time zone is UTC before anything imports time.
os.environ["TZ"] = "UTC"

import odoo  # noqa: E402
from odoo.tests import loader  # noqa: E402

_make_suite = loader.make_suite


def make_suite(module_names, position="at_install"):
    """at_install: nothing while modules load; post_install: both positions,
    at_install tests first (the order odoo-bin runs them in)."""
    if position == "at_install":
        return _make_suite([], position)
    at_install = _make_suite(module_names, "at_install")
    post_install = _make_suite(module_names, "post_install")
    return loader.OdooSuite([*at_install, *post_install])


loader.make_suite = make_suite

if __name__ == "__main__":
    odoo.cli.main()

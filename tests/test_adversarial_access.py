"""Adversarial access, end to end over JSON-RPC against the real server: who
reads which tracking rows (roles, two companies, portal), who writes the
fields the system maintains, who makes the carrier do something (the sandbox
counts what it receives), and where the carrier's API key may go.

Scenario: company A has two dispatched deliveries on a sandbox-backed carrier,
one for a customer of the Customer Service user ("mine") and one for another
customer ("other"); company B has one. A signed exception webhook for each
gives every delivery a tracking number, an event, an incident and a customer
update."""

import json
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest
import requests
from conftest import HTTP_TIMEOUT, SANDBOX_API_KEY, SANDBOX_WEBHOOK_SECRET, RPCError
from sandbox import sign
from sandbox.testing import RecordingServer, SandboxRequests, cancelled_at_carrier
from test_e2e_carrier import create_sandbox_carrier

ACCESS_ERROR = "odoo.exceptions.AccessError"
TRACKING_MODELS = [
    "shipment.tracking.event",
    "shipment.tracking.number",
    "shipment.tracking.incident",
    "shipment.tracking.notification",
]
# Which deliveries' rows each role finds.
VISIBLE = {
    "warehouse": {"mine", "other"},
    "logistics": {"mine", "other"},
    "cs": {"mine"},
    "cs_all": {"mine", "other"},
    "warehouse_b": {"company_b"},
}
# A value per system-maintained field, for the forgery attempts.
SYSTEM_FIELDS = {
    "shipment_delivered_date": "2026-01-01 00:00:00",
    "shipment_last_event_date": "2099-01-01 00:00:00",
    "shipment_pod_signed_by": "Forged",
    "shipment_pod_signature_url": "https://evil.example/sig.png",
    "shipment_pod_photo_url": "https://evil.example/photo.png",
    "shipment_next_poll_date": "2099-01-01 00:00:00",
    "shipment_poll_error": "silenced",
    "shipment_inquiry_date": False,
    "shipment_has_incident": False,
    "shipment_incident_reason": False,
    "shipment_on_time": True,
    "shipment_on_time_rate": 100.0,
    "shipment_transit_days": 0.5,
    "shipment_notification_state": "sent",
    "shipment_notification_attempts": 0,
    "shipment_notification_error": False,
    "generic_shipment_id": "shp_forged",
    "shipment_sms_state": "sent",
    "shipment_sms_note": False,
}
WRITER_ROLES = ["warehouse", "logistics", "cs"]
# Internal fields a portal user must not read over JSON-RPC.
INTERNAL_FIELDS = [
    "shipment_notification_state",
    "shipment_notification_error",
    "shipment_poll_error",
    "shipment_next_poll_date",
    "shipment_incident_reason",
    "shipment_has_incident",
    "shipment_inquiry_date",
    "shipment_on_time",
    "generic_shipment_id",
    "shipment_sms_state",
    "shipment_sms_note",
    "tracking_event_ids",
    "tracking_number_ids",
    "shipment_incident_ids",
    "shipment_update_ids",
]
DETAILS = {"shipment_length": 30, "shipment_width": 20, "shipment_height": 10}


def assert_access_error(call, *args, **kwargs):
    with pytest.raises(RPCError) as error:
        call(*args, **kwargs)
    assert error.value.name == ACCESS_ERROR, error.value
    return error.value


@pytest.fixture
def attacker_host():
    """A host a non-admin controls, on loopback: records every request."""
    with RecordingServer() as server:
        yield server, server.url


class World:
    """Users of every role, two companies, three dispatched deliveries with a
    row of each tracking model."""

    def __init__(self, admin, login, shop, sandbox, odoo_server):
        self.admin = admin
        self.shop = shop
        self.tag = uuid.uuid4().hex[:6]
        self.company_a = shop.company_id
        self.carrier = create_sandbox_carrier(
            admin, shop, sandbox, odoo_server, f"Adversarial {self.tag}"
        )
        self.company_b = admin.call(
            "res.company", "create", {"name": f"E2E Second Co {self.tag}"}
        )
        admin.call(
            "res.users", "write", [admin.uid], {"company_ids": [(4, self.company_b)]}
        )
        self.ctx_a = {**admin.context, "allowed_company_ids": [self.company_a]}
        self.ctx_b = {**admin.context, "allowed_company_ids": [self.company_b]}
        self.ctx_all = {
            **admin.context,
            "allowed_company_ids": [self.company_a, self.company_b],
        }
        self.passwords = {}
        self.users = {
            "warehouse": self._user("warehouse", "stock.group_stock_user"),
            "logistics": self._user("logistics", "stock.group_stock_manager"),
            "cs": self._user("cs", "sales_team.group_sale_salesman"),
            "cs_all": self._user("cs_all", "sales_team.group_sale_salesman_all_leads"),
            "warehouse_b": self._user(
                "warehouse_b", "stock.group_stock_user", company=self.company_b
            ),
        }
        self.customer_mine = self._customer("Mine", self.users["cs"])
        self.customer_other = self._customer("Other", admin.uid)
        self.users["portal"] = self._user(
            "portal",
            "base.group_portal",
            partner_id=admin.call(
                "res.partner",
                "create",
                {
                    "name": f"Portal Contact {self.tag}",
                    "parent_id": self.customer_mine,
                    "email": f"portal-{self.tag}@example.com",
                },
            ),
        )
        self.clients = {
            role: login(login_name, self.passwords[role])
            for role, login_name in self.users.items()
        }
        warehouse_b = self._warehouse_b()
        self.pickings = {
            "mine": self._delivery(self.customer_mine, self.users["cs"], "mine"),
            "other": self._delivery(self.customer_other, admin.uid, "other"),
            "company_b": self._delivery(
                self.customer_other, admin.uid, "company_b", warehouse=warehouse_b
            ),
        }
        for key, picking in self.pickings.items():
            self._push_exception(picking["ref"], key)
        self.rows = {
            model: {
                key: self._rows(model, picking["id"])
                for key, picking in self.pickings.items()
            }
            for model in TRACKING_MODELS
        }

    # -- setup --------------------------------------------------------------
    def _user(self, role, group, company=None, partner_id=None):
        company = company or self.company_a
        login = f"adv-{role}-{self.tag}"
        vals = {
            "name": f"Adversarial {role} {self.tag}",
            "login": login,
            "password": login,
            "email": f"{login}@example.com",
            "company_id": company,
            "company_ids": [(6, 0, [company])],
            "groups_id": [(6, 0, [self.admin.ref(group)])],
        }
        if partner_id:
            vals["partner_id"] = partner_id
        self.admin.call("res.users", "create", vals)
        self.passwords[role] = login
        return login

    def _customer(self, label, salesperson_uid):
        return self.admin.call(
            "res.partner",
            "create",
            {
                "name": f"Adversarial {label} {self.tag}",
                "email": f"{label.lower()}-{self.tag}@example.com",
                "street": "Rue de la Loi 16",
                "city": "Brussels",
                "zip": "1000",
                "country_id": self.admin.ref("base.be"),
                "user_id": salesperson_uid
                if isinstance(salesperson_uid, int)
                else self._uid_of(salesperson_uid),
            },
        )

    def _uid_of(self, login):
        return self.admin.call("res.users", "search", [("login", "=", login)])[0]

    def _warehouse_b(self):
        warehouse = self.admin.call(
            "stock.warehouse",
            "create",
            {"name": f"WH B {self.tag}", "code": "WHB", "company_id": self.company_b},
            context=self.ctx_b,
        )
        stock = self.admin.read_one(
            "stock.warehouse", warehouse, ["lot_stock_id", "partner_id"]
        )
        quant = self.admin.call(
            "stock.quant",
            "create",
            {
                "product_id": self.shop.product_id,
                "location_id": stock["lot_stock_id"][0],
                "inventory_quantity": 10,
            },
            context={**self.ctx_b, "inventory_mode": True},
        )
        self.admin.call(
            "stock.quant", "action_apply_inventory", [quant], context=self.ctx_b
        )
        self.admin.call(
            "res.partner",
            "write",
            [stock["partner_id"][0]],
            {
                "street": "Kanaalstraat 1",
                "city": "Antwerp",
                "zip": "2000",
                "country_id": self.admin.ref("base.be"),
            },
        )
        return warehouse

    def _delivery(self, partner_id, salesperson, key, warehouse=None):
        """A dispatched delivery with a tracking number set by hand."""
        context = self.ctx_b if warehouse else self.ctx_a
        user_id = salesperson if isinstance(salesperson, int) else None
        user_id = user_id or self._uid_of(salesperson)
        vals = {
            "partner_id": partner_id,
            "user_id": user_id,
            "carrier_id": self.carrier["id"],
            "order_line": [(0, 0, {"product_id": self.shop.product_id})],
        }
        if warehouse:
            vals.update(company_id=self.company_b, warehouse_id=warehouse)
        else:
            vals["warehouse_id"] = self.shop.warehouse_id
        order = self.admin.call("sale.order", "create", vals, context=context)
        self.admin.call("sale.order", "action_confirm", [order], context=context)
        picking_id = self.admin.read_one("sale.order", order, ["picking_ids"])[
            "picking_ids"
        ][0]
        ref = f"ADV{self.tag}{key}".upper().replace("_", "")
        self.admin.call(
            "stock.picking",
            "write",
            [picking_id],
            {**DETAILS, "carrier_tracking_ref": ref},
            context=context,
        )
        result = self.admin.call(
            "stock.picking", "button_validate", [picking_id], context=context
        )
        assert result is True, result
        picking = self.admin.read_one(
            "stock.picking", picking_id, ["shipment_state", "company_id"]
        )
        assert picking["shipment_state"] == "dispatched", picking
        return {"id": picking_id, "ref": ref}

    def _push_exception(self, ref, key):
        now = datetime.now(timezone.utc).replace(microsecond=0)
        body = json.dumps(
            {
                "type": "tracking.updated",
                "events": [
                    {
                        "id": f"evt-adv-{self.tag}-{key}",
                        "tracking_number": ref,
                        "status": "exception",
                        "description": "Address not found",
                        "occurred_at": now.isoformat().replace("+00:00", "Z"),
                        "location": "Brussels, BE",
                    }
                ],
            }
        ).encode()
        timestamp = int(time.time())
        response = requests.post(
            self.carrier["webhook_url"],
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Shipment-Timestamp": str(timestamp),
                "X-Shipment-Signature": sign(SANDBOX_WEBHOOK_SECRET, timestamp, body),
            },
            timeout=HTTP_TIMEOUT,
        )
        assert response.status_code == 200, response.text

    def _rows(self, model, picking_id):
        ids = self.admin.call(
            model, "search", [("picking_id", "=", picking_id)], context=self.ctx_all
        )
        assert ids, f"no {model} row for delivery {picking_id}"
        return set(ids)

    # -- queries ------------------------------------------------------------
    def all_rows(self, model):
        return set().union(*self.rows[model].values())

    def expected_rows(self, model, keys):
        return set().union(*(self.rows[model][key] for key in keys))


@pytest.fixture(scope="module")
def world(admin, login, shop, sandbox, odoo_server):
    return World(admin, login, shop, sandbox, odoo_server)


# ----------------------------------------------------------------------------
# Record rules: per role and per company
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("role", sorted(VISIBLE))
@pytest.mark.parametrize("model", TRACKING_MODELS)
def test_tracking_rows_visible_per_role(world, model, role):
    client = world.clients[role]
    found = client.call(model, "search", [("id", "in", sorted(world.all_rows(model)))])
    assert set(found) == world.expected_rows(model, VISIBLE[role])


@pytest.mark.parametrize("model", TRACKING_MODELS)
def test_cross_company_row_read_refused(world, model):
    foreign = sorted(world.rows[model]["company_b"])
    assert_access_error(
        world.clients["warehouse"].call, model, "read", foreign, ["picking_id"]
    )
    own = sorted(world.rows[model]["mine"])
    assert_access_error(
        world.clients["warehouse_b"].call, model, "read", own, ["picking_id"]
    )


@pytest.mark.parametrize("model", TRACKING_MODELS)
def test_customer_service_reads_no_other_customers_rows(world, model):
    other = sorted(world.rows[model]["other"])
    assert_access_error(world.clients["cs"].call, model, "read", other, ["picking_id"])


@pytest.mark.parametrize("model", TRACKING_MODELS)
def test_portal_user_reads_no_tracking_rows(world, model):
    portal = world.clients["portal"]
    assert_access_error(portal.call, model, "search_read", [], ["picking_id"])
    own = sorted(world.rows[model]["mine"])
    assert_access_error(portal.call, model, "read", own, ["picking_id"])


# ----------------------------------------------------------------------------
# Fields the system maintains
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("role", WRITER_ROLES)
@pytest.mark.parametrize("field", sorted(SYSTEM_FIELDS))
def test_system_field_write_refused(world, field, role):
    picking_id = world.pickings["mine"]["id"]
    before = world.admin.read_one("stock.picking", picking_id, [field])
    error = assert_access_error(
        world.clients[role].call,
        "stock.picking",
        "write",
        [picking_id],
        {field: SYSTEM_FIELDS[field]},
    )
    assert "maintained by the system" in error.message
    assert world.admin.read_one("stock.picking", picking_id, [field]) == before


@pytest.mark.parametrize("role", ["warehouse", "cs"])
@pytest.mark.parametrize("field", ["carrier_id", "partner_id"])
def test_dispatched_route_change_refused(world, field, role):
    picking_id = world.pickings["mine"]["id"]
    other = {"carrier_id": world.shop.carrier_id, "partner_id": world.customer_other}
    error = assert_access_error(
        world.clients[role].call,
        "stock.picking",
        "write",
        [picking_id],
        {field: other[field]},
    )
    assert "already booked or dispatched" in error.message
    value = world.admin.read_one("stock.picking", picking_id, [field])[field][0]
    assert value != other[field]


def test_dispatched_route_change_by_logistics(world):
    picking_id = world.pickings["other"]["id"]
    logistics = world.clients["logistics"]
    address = world.admin.call(
        "res.partner",
        "create",
        {"name": f"New address {world.tag}", "parent_id": world.customer_other},
    )
    logistics.call("stock.picking", "write", [picking_id], {"partner_id": address})
    assert logistics.read_one("stock.picking", picking_id, ["partner_id"])[
        "partner_id"
    ][0] == (address)
    logistics.call(
        "stock.picking", "write", [picking_id], {"partner_id": world.customer_other}
    )


# ----------------------------------------------------------------------------
# Carrier calls: the role is checked before any request leaves
# ----------------------------------------------------------------------------
def book_new_delivery(world, sandbox):
    """A delivery the warehouse validates, booked at the sandbox (once)."""
    order = world.admin.call(
        "sale.order",
        "create",
        {
            "partner_id": world.customer_mine,
            "user_id": world._uid_of(world.users["cs"]),
            "warehouse_id": world.shop.warehouse_id,
            "carrier_id": world.carrier["id"],
            "order_line": [(0, 0, {"product_id": world.shop.product_id})],
        },
    )
    world.admin.call("sale.order", "action_confirm", [order])
    picking_id = world.admin.read_one("sale.order", order, ["picking_ids"])[
        "picking_ids"
    ][0]
    warehouse = world.clients["warehouse"]
    warehouse.call("stock.picking", "write", [picking_id], DETAILS)
    with SandboxRequests(sandbox) as seen:
        assert warehouse.call("stock.picking", "button_validate", [picking_id])
    assert seen.paths("/v1/shipments") == ["/v1/shipments"], seen.calls
    shipment = world.admin.read_one(
        "stock.picking", picking_id, ["generic_shipment_id", "shipment_state"]
    )
    assert shipment["shipment_state"] == "dispatched", shipment
    return {"id": picking_id, "shipment_id": shipment["generic_shipment_id"]}


@pytest.fixture(scope="module")
def booked(world, sandbox):
    """A delivery the warehouse validates, booked at the sandbox."""
    return book_new_delivery(world, sandbox)


@pytest.mark.parametrize("role", ["warehouse", "cs"])
def test_cancel_refused_before_any_request(world, sandbox, booked, role):
    with SandboxRequests(sandbox) as seen:
        assert_access_error(
            world.clients[role].call, "stock.picking", "cancel_shipment", [booked["id"]]
        )
    assert seen.calls == []
    assert not cancelled_at_carrier(sandbox, booked["shipment_id"])


@pytest.mark.parametrize("role", ["warehouse", "cs", "cs_all"])
def test_test_connection_refused_before_any_request(world, sandbox, role):
    with SandboxRequests(sandbox) as seen:
        assert_access_error(
            world.clients[role].call,
            "delivery.carrier",
            "action_generic_test_connection",
            [world.carrier["id"]],
        )
    assert seen.calls == []


def test_booking_refused_for_customer_service(world, sandbox):
    order = world.admin.call(
        "sale.order",
        "create",
        {
            "partner_id": world.customer_mine,
            "user_id": world._uid_of(world.users["cs"]),
            "warehouse_id": world.shop.warehouse_id,
            "carrier_id": world.carrier["id"],
            "order_line": [(0, 0, {"product_id": world.shop.product_id})],
        },
    )
    world.admin.call("sale.order", "action_confirm", [order])
    picking_id = world.admin.read_one("sale.order", order, ["picking_ids"])[
        "picking_ids"
    ][0]
    with SandboxRequests(sandbox) as seen:
        assert_access_error(
            world.clients["cs"].call, "stock.picking", "send_to_shipper", [picking_id]
        )
    assert seen.calls == []


def test_test_connection_by_logistics_reaches_the_carrier(world, sandbox):
    with SandboxRequests(sandbox) as seen:
        world.clients["logistics"].call(
            "delivery.carrier", "action_generic_test_connection", [world.carrier["id"]]
        )
    assert seen.calls == [("GET", "/v1/ping", f"Bearer {SANDBOX_API_KEY}")]


def test_cancel_by_logistics_reaches_the_carrier_once(world, sandbox, booked):
    with SandboxRequests(sandbox) as seen:
        world.clients["logistics"].call(
            "stock.picking", "cancel_shipment", [booked["id"]]
        )
    assert seen.paths() == [f"/v1/shipments/{booked['shipment_id']}/cancel"]
    assert cancelled_at_carrier(sandbox, booked["shipment_id"])


def test_manual_send_to_shipper_roles(world, sandbox):
    """Send to Shipper by hand is Logistics': a Warehouse user's would book
    (and pay) at the carrier, then fail to record it. A booked delivery is
    never booked twice."""
    picking = book_new_delivery(world, sandbox)
    logistics = world.clients["logistics"]
    # Cancelled at the carrier: done and unbooked again, bookable by hand.
    logistics.call("stock.picking", "cancel_shipment", [picking["id"]])
    with SandboxRequests(sandbox) as seen:
        assert_access_error(
            world.clients["warehouse"].call,
            "stock.picking",
            "send_to_shipper",
            [picking["id"]],
        )
    assert seen.calls == []
    with SandboxRequests(sandbox) as seen:
        logistics.call("stock.picking", "send_to_shipper", [picking["id"]])
    assert seen.paths("/v1/shipments") == ["/v1/shipments"], seen.calls
    booking = world.admin.read_one(
        "stock.picking", picking["id"], ["generic_shipment_id", "carrier_tracking_ref"]
    )
    assert booking["generic_shipment_id"] and booking["carrier_tracking_ref"]
    with SandboxRequests(sandbox) as seen, pytest.raises(RPCError) as error:
        logistics.call("stock.picking", "send_to_shipper", [picking["id"]])
    assert error.value.name == "odoo.exceptions.UserError", error.value
    assert "already booked" in error.value.message
    assert seen.calls == []
    assert world.admin.read_one(
        "stock.picking", picking["id"], ["generic_shipment_id"]
    ) == {"id": picking["id"], "generic_shipment_id": booking["generic_shipment_id"]}


@pytest.mark.parametrize(
    "method", ["generic_get_tracking_batch", "_generic_get_tracking_batch"]
)
def test_tracking_batch_not_callable_over_rpc(world, sandbox, booked, method):
    """Asking the carrier about any number with the API key is the
    poller's."""
    with SandboxRequests(sandbox) as seen, pytest.raises(RPCError):
        world.clients["logistics"].call(
            "delivery.carrier", method, [world.carrier["id"]], ["ANY-NUMBER"]
        )
    assert seen.calls == []


# Forged through default_* context keys on create/copy: system, logistics,
# notification and add-on fields.
FORGED_DEFAULTS = {
    "shipment_state": "delivered",
    "carrier_tracking_ref": "FORGED-1",
    "shipment_delivered_date": "2026-01-01 00:00:00",
    "shipment_next_poll_date": "2099-01-01 00:00:00",
    "shipment_notification_state": "to_send",
    "generic_shipment_id": "shp_forged",
    "shipment_sms_state": "sent",
}


@pytest.mark.parametrize("field", sorted(FORGED_DEFAULTS))
def test_context_default_forgery_refused(world, field):
    warehouse = world.clients["warehouse"]
    context = {**warehouse.context, f"default_{field}": FORGED_DEFAULTS[field]}
    out_type = world.admin.read_one(
        "stock.warehouse", world.shop.warehouse_id, ["out_type_id"]
    )["out_type_id"][0]
    guards = ("maintained by the system", "Only the Logistics team")
    error = assert_access_error(
        warehouse.call,
        "stock.picking",
        "create",
        {"picking_type_id": out_type, "partner_id": world.customer_mine},
        context=context,
    )
    assert any(guard in error.message for guard in guards), error
    error = assert_access_error(
        warehouse.call,
        "stock.picking",
        "copy",
        [world.pickings["mine"]["id"]],
        context=context,
    )
    assert any(guard in error.message for guard in guards), error


@pytest.mark.parametrize(
    "vals",
    [
        {"generic_max_retries": 1000},
        {"generic_retry_backoff": 3600},
        {"generic_timeout": 86400},
        {"generic_rate_limit": -1},
    ],
)
def test_connection_settings_bounded(world, vals):
    carrier_id = world.carrier["id"]
    before = world.admin.read_one("delivery.carrier", carrier_id, list(vals))
    try:
        with pytest.raises(RPCError) as error:
            world.clients["logistics"].call(
                "delivery.carrier", "write", [carrier_id], vals
            )
        assert error.value.name == "odoo.exceptions.ValidationError", error.value
    finally:
        # Should the write pass, no poller of this database may hang on it.
        world.admin.call(
            "delivery.carrier",
            "write",
            [carrier_id],
            {name: before[name] for name in vals},
        )


# ----------------------------------------------------------------------------
# The API key never reaches a host a non-admin chose
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["logistics", "warehouse"])
def test_api_key_redirect_refused(world, sandbox, attacker_host, role):
    server, url = attacker_host
    client = world.clients[role]
    assert_access_error(
        client.call,
        "delivery.carrier",
        "write",
        [world.carrier["id"]],
        {"generic_base_url": url},
    )
    with SandboxRequests(sandbox) as seen:
        try:
            client.call(
                "delivery.carrier",
                "action_generic_test_connection",
                [world.carrier["id"]],
            )
        except RPCError as error:
            assert error.name == ACCESS_ERROR, error  # warehouse: no test at all
    assert server.seen == []
    assert all(urlsplit(path).path == "/v1/ping" for path in seen.paths())


def test_api_key_reaches_an_admin_chosen_host(world, attacker_host):
    """Control: the recording host does see the key when an admin points the
    carrier at it, so the refusal above is not a silent recorder."""
    server, url = attacker_host
    admin = world.admin
    carrier_id = world.carrier["id"]
    sandbox_url = admin.read_one("delivery.carrier", carrier_id, ["generic_base_url"])[
        "generic_base_url"
    ]
    admin.call("delivery.carrier", "write", [carrier_id], {"generic_base_url": url})
    try:
        admin.call("delivery.carrier", "action_generic_test_connection", [carrier_id])
    finally:
        admin.call(
            "delivery.carrier", "write", [carrier_id], {"generic_base_url": sandbox_url}
        )
    assert [headers.get("Authorization") for _m, _p, headers in server.seen] == [
        f"Bearer {SANDBOX_API_KEY}"
    ]


# ----------------------------------------------------------------------------
# Portal users read customer-facing fields only
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("field", INTERNAL_FIELDS)
def test_portal_reads_no_internal_field(world, field):
    portal = world.clients["portal"]
    picking_id = world.pickings["mine"]["id"]
    assert_access_error(portal.call, "stock.picking", "read", [picking_id], [field])
    assert_access_error(
        portal.call, "stock.picking", "search_read", [("id", "=", picking_id)], [field]
    )


def test_portal_reads_customer_fields_and_page(world, odoo_server):
    portal = world.clients["portal"]
    picking = world.pickings["mine"]
    values = portal.read_one(
        "stock.picking",
        picking["id"],
        ["shipment_state", "carrier_tracking_ref", "expected_delivery_date"],
    )
    assert values["shipment_state"] == "exception"
    assert values["carrier_tracking_ref"] == picking["ref"]
    fields = portal.call("stock.picking", "fields_get", [], attributes=["type"])
    assert not set(INTERNAL_FIELDS) & set(fields)
    page = portal.session.get(
        f"{odoo_server['url']}/my/shipments/{picking['id']}", timeout=HTTP_TIMEOUT
    )
    assert page.status_code == 200
    assert picking["ref"] in page.text
    assert "Address not found" in page.text

"""Fixtures of the end-to-end tests: a real Odoo server driven over HTTP, with
an SMTP sink, a carrier tracking page and the sandbox carrier on loopback.

Environment: ODOO_BIN, ODOO_PYTHON, ODOO_ADDONS_PATH, E2E_DB (a database with
our add-ons installed and admin/admin; without it a throw-away one is built
with every top-level add-on and dropped), PGHOST, PGPORT, PGUSER.
"""

import contextlib
import getpass
import html
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections import Counter, deque
from datetime import datetime, timezone
from html.parser import HTMLParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg2
import pytest
import requests
from aiosmtpd.controller import Controller
from psycopg2 import sql

REPO = Path(__file__).resolve().parent.parent
# The sandbox carrier is stdlib-only; the add-on's own __init__ imports Odoo.
sys.path.insert(0, str(REPO / "shipment_tracking_carrier_generic"))

from sandbox import SandboxCarrier  # noqa: E402

# The fake SMS gateway is stdlib-only too.
sys.path.insert(0, str(REPO / "shipment_tracking_sms" / "tests"))

from fake_sms_gateway import FakeSmsGateway  # noqa: E402

ODOO_SRC = Path(os.environ.get("ODOO_SRC", "/root/.cache/shipment_tracking/odoo-18.0"))
ODOO_BIN = os.environ.get("ODOO_BIN") or str(ODOO_SRC / "odoo-bin")
ODOO_PYTHON = os.environ.get("ODOO_PYTHON") or sys.executable
PG = {
    "host": os.environ.get("PGHOST", "127.0.0.1"),
    "port": os.environ.get("PGPORT", "5432"),
    "user": os.environ.get("PGUSER") or getpass.getuser(),
}
SERVER_START_TIMEOUT = 90
INSTALL_TIMEOUT = 900
HTTP_TIMEOUT = 30
CRON_TIMEOUT = 60
# How long a mail or SMS queue may sit with its cron idle and not due before
# wait_notifications_settled() runs it by hand.
STALL_GRACE = 10
ADMIN = ("admin", "admin")
SANDBOX_API_KEY = "e2e-sandbox-key"
SANDBOX_WEBHOOK_SECRET = "e2e-sandbox-webhook-secret"
# The fake SMS gateway's account, and the number it texts from.
ACCOUNT_SID = "ACe2e0123456789"
AUTH_TOKEN = "e2e-sms-token"
SENDER = "+32460000001"
# A Belgian mobile written the national way: read in the customer's country.
MOBILE = "0470 12 34 56"
MOBILE_E164 = "+32470123456"
SMS_GATEWAY_FIELDS = [
    "shipment_sms_gateway",
    "shipment_sms_http_base_url",
    "shipment_sms_http_account_sid",
    "shipment_sms_http_auth_token",
    "shipment_sms_http_sender",
    "shipment_notify_sms",
    "stock_move_sms_validation",
    "has_received_warning_stock_sms",
]
# Every top-level folder holding a manifest, as scripts/run_tests.sh installs.
ADDONS = sorted(path.parent.name for path in REPO.glob("*/__manifest__.py"))


def _default_addons_path():
    # A source checkout keeps most add-ons in addons/, the nightly tarball in
    # odoo/addons (as scripts/run_tests.sh).
    src = Path(ODOO_BIN).resolve().parent
    paths = [src / "addons", src / "odoo" / "addons"]
    return ",".join([str(p) for p in paths if p.is_dir()] + [str(REPO)])


ODOO_ADDONS_PATH = os.environ.get("ODOO_ADDONS_PATH") or _default_addons_path()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_tail(path, lines=60):
    try:
        with open(path, encoding="utf-8", errors="replace") as log:
            return "".join(deque(log, maxlen=lines))
    except OSError as error:
        return f"(no log: {error})"


def odoo_command(db, *args, data_dir=None):
    cmd = [
        ODOO_PYTHON,
        ODOO_BIN,
        "-d",
        db,
        "--db_host",
        PG["host"],
        "--db_port",
        str(PG["port"]),
        "--db_user",
        PG["user"],
        "--addons-path",
        ODOO_ADDONS_PATH,
        *args,
    ]
    if data_dir:
        cmd += ["--data-dir", data_dir]
    return cmd


# ----------------------------------------------------------------------------
# Odoo worker processes: a script run with Odoo's own cursors on the test
# database, for what needs committed rows and real transactions side by side
# (a process killed mid-call, a concurrent commit during a cron's call).
# ----------------------------------------------------------------------------
WORKER_TIMEOUT = 300
# The start of every worker script: ``args`` (argv[1], JSON: the caller's
# params, and odoo_src, odoo_args, db), ``registry`` (the test database's),
# and ``LogLines(logger)``, which keeps what ``logger`` logs. A script prints
# its result as its last line, in JSON.
WORKER_PROLOGUE = r"""
import json
import logging
import sys

args = json.loads(sys.argv[1])
sys.path.insert(0, args["odoo_src"])

from odoo.modules.registry import Registry
from odoo.tools import config

config.parse_config(args["odoo_args"])
registry = Registry(args["db"])


# The messages ``logger`` logs at INFO and above, in ``lines``.
class LogLines(logging.Handler):
    def __init__(self, logger):
        super().__init__(logging.INFO)
        self.lines = []
        logging.getLogger(logger).addHandler(self)

    def emit(self, record):
        self.lines.append(record.getMessage())
"""


def odoo_worker_cmd(script, db, data_dir, **params):
    """The command that runs ``script`` (Python source, after
    ``WORKER_PROLOGUE``) on ``db`` with ``params`` in its ``args``."""
    args = {
        "odoo_src": str(Path(ODOO_BIN).resolve().parent),
        # odoo_command's options, without the interpreter and odoo-bin.
        "odoo_args": odoo_command(db, data_dir=data_dir)[2:],
        "db": db,
        **params,
    }
    return [ODOO_PYTHON, "-c", WORKER_PROLOGUE + script, json.dumps(args)]


def run_odoo_worker(script, db, data_dir, log, env=None, **params):
    """Run ``script`` to its end (its stderr appended to ``log``, ``env``
    its environment); return its last line, read as JSON."""
    with open(log, "a", encoding="utf-8") as err:
        done = subprocess.run(
            odoo_worker_cmd(script, db, data_dir, **params),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            text=True,
            timeout=WORKER_TIMEOUT,
            check=False,
        )
    assert done.returncode == 0, f"the worker failed:\n{log_tail(log)}"
    return json.loads(done.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------
# JSON-RPC client
# ----------------------------------------------------------------------------
class RPCError(Exception):
    """A JSON-RPC error answer; ``name`` is the server exception's class path."""

    def __init__(self, error):
        data = error.get("data") or {}
        self.name = data.get("name", "")
        self.message = data.get("message") or error.get("message", "")
        super().__init__(f"{self.name}: {self.message}")


class OdooClient:
    """One logged-in user talking JSON-RPC to the server over real HTTP."""

    def __init__(self, base_url, db, login, password):
        self.base_url = base_url
        self.db = db
        self.session = requests.Session()
        self._ids = itertools.count(1)
        info = self.rpc(
            "/web/session/authenticate",
            {"db": db, "login": login, "password": password},
        )
        self.uid = info["uid"]
        self.context = info["user_context"]

    def rpc(self, path, params):
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": params,
            "id": next(self._ids),
        }
        response = self.session.post(
            self.base_url + path, json=payload, timeout=HTTP_TIMEOUT
        )
        response.raise_for_status()
        answer = response.json()
        if "error" in answer:
            raise RPCError(answer["error"])
        # Odoo leaves "result" out when the method returned None.
        return answer.get("result")

    def call(self, model, method, *args, **kwargs):
        kwargs.setdefault("context", self.context)
        return self.rpc(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def read_one(self, model, record_id, fields):
        return self.call(model, "read", [record_id], fields)[0]

    def ref(self, xmlid):
        module, name = xmlid.split(".")
        data = self.call(
            "ir.model.data",
            "search_read",
            [("module", "=", module), ("name", "=", name)],
            ["res_id"],
        )
        assert data, f"no record {xmlid}"
        return data[0]["res_id"]


class LinkParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def html_links(body):
    """The targets of the links of an HTML document, in order."""
    parser = LinkParser()
    parser.feed(body)
    return parser.hrefs


def validate_as_warehouse(shop, login, picking_id, fields):
    """The warehouse user records the parcel (30 x 20 x 10) and validates;
    returns ``fields`` of the delivery as that user reads them."""
    warehouse = login(*shop.users["warehouse"])
    warehouse.call(
        "stock.picking",
        "write",
        [picking_id],
        {"shipment_length": 30, "shipment_width": 20, "shipment_height": 10},
    )
    result = warehouse.call("stock.picking", "button_validate", [picking_id])
    assert result is True, f"validation asked for more: {result}"
    return warehouse.read_one("stock.picking", picking_id, fields)


# ----------------------------------------------------------------------------
# Loopback services
# ----------------------------------------------------------------------------
class SmtpSink:
    """aiosmtpd handler keeping every message with its envelope and raw bytes."""

    def __init__(self):
        self.messages = []
        self.port = None
        self._lock = threading.Lock()

    async def handle_DATA(self, _server, _session, envelope):
        with self._lock:
            self.messages.append(
                {
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": [rcpt.lower() for rcpt in envelope.rcpt_tos],
                    "raw": envelope.original_content or envelope.content,
                }
            )
        return "250 OK"

    def messages_to(self, email):
        with self._lock:
            return [m for m in self.messages if email.lower() in m["rcpt_tos"]]


class TrackingPageHandler(BaseHTTPRequestHandler):
    """The carrier's public tracking page: GET /track?number=X."""

    def do_GET(self):
        url = urlsplit(self.path)
        numbers = parse_qs(url.query).get("number")
        if url.path != "/track" or not numbers:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        number = html.escape(numbers[0])
        body = (
            f"<html><body><h1>Parcel {number}</h1>"
            f"<p>Tracking number {number}: in transit.</p></body></html>"
        ).encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        """Silent: the tests report what matters."""


@pytest.fixture(scope="module")
def smtp_sink():
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.port = controller.port
    yield sink
    controller.stop()


@pytest.fixture(scope="module")
def sandbox():
    """The sandbox carrier on a free loopback port, API key SANDBOX_API_KEY,
    webhooks signed with SANDBOX_WEBHOOK_SECRET; tests point its pushes at
    Odoo with ``sandbox.configure(webhook_url=...)``."""
    with SandboxCarrier(
        api_key=SANDBOX_API_KEY, webhook_secret=SANDBOX_WEBHOOK_SECRET, quiet=True
    ) as carrier:
        yield carrier


@pytest.fixture(scope="module")
def tracking_site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), TrackingPageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


# ----------------------------------------------------------------------------
# Database and server
# ----------------------------------------------------------------------------
def _drop_database(name):
    conn = psycopg2.connect(dbname="postgres", **PG)
    try:
        conn.autocommit = True
        with conn.cursor() as cr:
            cr.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )
    finally:
        conn.close()


@pytest.fixture(scope="module")
def e2e_db(tmp_path_factory):
    """(database, data_dir): E2E_DB as given, else a throw-away database."""
    if os.environ.get("E2E_DB"):
        yield os.environ["E2E_DB"], None
        return
    name = f"shipment_e2e_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    data_dir = str(tmp_path_factory.mktemp("odoo-data"))
    log = Path(data_dir) / "install.log"
    cmd = odoo_command(
        name,
        "-i",
        ",".join(ADDONS),
        "--stop-after-init",
        "--workers",
        "0",
        "--max-cron-threads",
        "0",
        "--http-port",
        str(free_port()),
        "--logfile",
        str(log),
        data_dir=data_dir,
    )
    try:
        result = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, timeout=INSTALL_TIMEOUT, check=False
        )
        if result.returncode:
            pytest.fail(
                f"installing {', '.join(ADDONS)} in {name} failed:\n{log_tail(log)}"
            )
        yield name, data_dir
    finally:
        _drop_database(name)


def _answers_ok(url):
    try:
        return requests.get(url, timeout=5).status_code == HTTPStatus.OK
    except requests.RequestException:
        return False  # not listening yet, or still loading the registry


def _wait_until_up(proc, url, log):
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        if _answers_ok(url):
            return
        time.sleep(0.5)
    pytest.fail(
        f"Odoo did not answer 200 on {url} (exit status {proc.poll()}):\n"
        f"{log_tail(log)}"
    )


def _stop(proc):
    """Stop the server; past a grace period, kill its whole session (the
    prefork server's workers too)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextlib.contextmanager
def running_odoo(db, data_dir, smtp_port, log, *options):
    """Run an Odoo server on ``db`` sending its emails to the SMTP sink on
    ``smtp_port``, with ``options`` (workers, cron threads, ...); yield its
    base URL once it answers, stop it on exit."""
    port = free_port()
    cmd = odoo_command(
        db,
        "--db-filter",
        f"^{db}$",
        "--http-port",
        str(port),
        "--http-interface",
        "127.0.0.1",
        "--smtp",
        "127.0.0.1",
        "--smtp-port",
        str(smtp_port),
        "--without-demo",
        "all",
        "--log-level",
        "info",
        "--logfile",
        str(log),
        *options,
        data_dir=data_dir,
    )
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(proc, f"{base_url}/web/login", log)
        yield base_url
    finally:
        _stop(proc)


@contextlib.contextmanager
def prefork_odoo(e2e_db, smtp_sink, tmp_path_factory, name, notify_cron_changes=False):
    """A prefork server on the test database: two HTTP workers, two cron
    workers; yields what the ``odoo_server`` fixture does. With
    ``notify_cron_changes``, every cron change NOTIFYs the cron workers
    (ODOO_NOTIFY_CRON_CHANGES, Odoo's own switch), so that a cron made due
    wakes them at once."""
    db, data_dir = e2e_db
    log = tmp_path_factory.mktemp(name) / "odoo.log"
    options = (
        "--workers",
        "2",
        "--max-cron-threads",
        "2",
        "--gevent-port",
        str(free_port()),
    )
    before = os.environ.get("ODOO_NOTIFY_CRON_CHANGES")
    if notify_cron_changes:
        os.environ["ODOO_NOTIFY_CRON_CHANGES"] = "1"
    try:
        with running_odoo(db, data_dir, smtp_sink.port, log, *options) as base_url:
            yield {"url": base_url, "db": db, "log": log}
    finally:
        if before is None:
            os.environ.pop("ODOO_NOTIFY_CRON_CHANGES", None)
        else:
            os.environ["ODOO_NOTIFY_CRON_CHANGES"] = before


@contextlib.contextmanager
def company_settings(admin, company_id, values):
    """The company's ``values`` written for the test, put back as they were
    afterwards."""
    before = admin.read_one("res.company", company_id, list(values))
    admin.call("res.company", "write", [company_id], values)
    try:
        yield
    finally:
        admin.call(
            "res.company",
            "write",
            [company_id],
            {field: before[field] for field in values},
        )


class CronRacers:
    """Threads, each with its own administrator session, starting ``crons``
    by hand in a loop (as from the cron's form), ``pause`` seconds between
    two loops, while ``gate`` (a threading.Event, if given) is set, until
    stopped. A cron a worker is running answers "currently being executed";
    a run may also fail on a concurrent update (Odoo's mail queue does) or
    answer too late on a busy machine: all are counted and reported, and the
    racing goes on, as an administrator would retry. Whether anything was
    done twice is for the test to judge."""

    def __init__(self, odoo_server, crons, count=2, pause=0.2, gate=None):
        self.odoo_server = odoo_server
        self.crons = crons
        self.count = count
        self.pause = pause
        self.gate = gate
        self.stopping = threading.Event()
        self.runs = Counter()
        self.busy = 0
        self.failures = Counter()
        self._lock = threading.Lock()
        self._threads = []

    def __enter__(self):
        for number in range(self.count):
            thread = threading.Thread(
                target=self._race, name=f"cron-racer-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def _open(self):
        return self.gate is None or self.gate.is_set()

    def _race(self):
        admin = OdooClient(self.odoo_server["url"], self.odoo_server["db"], *ADMIN)
        cron_ids = {xmlid: admin.ref(xmlid) for xmlid in self.crons}
        while not self.stopping.is_set():
            if self.gate is not None:
                self.gate.wait()
            for xmlid, cron_id in cron_ids.items():
                if self.stopping.is_set() or not self._open():
                    break
                self._run(admin, xmlid, cron_id)
            # Pacing only: proves nothing, leaves the workers some room.
            self.stopping.wait(self.pause)

    def _run(self, admin, xmlid, cron_id):
        try:
            admin.call("ir.cron", "method_direct_trigger", [cron_id])
        except requests.RequestException:
            with self._lock:
                self.failures[xmlid, "no answer in time"] += 1
        except RPCError as error:
            with self._lock:
                if "currently being executed" in error.message:
                    self.busy += 1
                else:
                    self.failures[xmlid, error.name] += 1
        else:
            with self._lock:
                self.runs[xmlid] += 1

    def stop(self):
        self.stopping.set()
        if self.gate is not None:
            self.gate.set()
        for thread in self._threads:
            thread.join(timeout=120)
        alive = [thread.name for thread in self._threads if thread.is_alive()]
        assert not alive, f"cron racers still running: {alive}"


@pytest.fixture(scope="module")
def odoo_server(e2e_db, smtp_sink, tmp_path_factory):
    """A running Odoo server (one HTTP worker thread pool, one cron thread)
    sending its emails to the SMTP sink; yields its base URL and database."""
    db, data_dir = e2e_db
    log = tmp_path_factory.mktemp("odoo-server") / "odoo.log"
    options = ("--workers", "0", "--max-cron-threads", "1")
    with running_odoo(db, data_dir, smtp_sink.port, log, *options) as base_url:
        yield {"url": base_url, "db": db, "log": log}


@pytest.fixture(scope="module")
def login(odoo_server):
    """login(user, password) -> OdooClient, each with its own HTTP session."""

    def _login(user, password):
        return OdooClient(odoo_server["url"], odoo_server["db"], user, password)

    return _login


@pytest.fixture(scope="module")
def admin(login):
    return login(*ADMIN)


# ----------------------------------------------------------------------------
# Business fixtures, created by admin over RPC (no demo data relied on)
# ----------------------------------------------------------------------------
class Shop:
    """The records the scenarios share, and a factory for new deliveries."""

    def __init__(self, admin, tracking_site):
        self.admin = admin
        self.tag = uuid.uuid4().hex[:8]
        self.company_id = admin.read_one("res.users", admin.uid, ["company_id"])[
            "company_id"
        ][0]
        warehouse = admin.call(
            "stock.warehouse",
            "search_read",
            [("company_id", "=", self.company_id)],
            ["lot_stock_id"],
            limit=1,
        )[0]
        self.warehouse_id = warehouse["id"]
        self.customer_name = f"E2E Customer {self.tag}"
        self.customer_email = f"customer-{self.tag}@example.com"
        self.customer_id = admin.call(
            "res.partner",
            "create",
            {
                "name": self.customer_name,
                "email": self.customer_email,
                # Carriers (the sandbox too) book only with street, city and zip.
                "street": "Rue de la Loi 16",
                "city": "Brussels",
                "zip": "1000",
                "country_id": admin.ref("base.be"),
                "lang": "en_US",
                # The email prints the shipment date in the customer's time zone.
                "tz": "UTC",
            },
        )
        self.product_id = admin.call(
            "product.product",
            "create",
            {
                "name": f"E2E Widget {self.tag}",
                "type": "consu",
                "is_storable": True,
                "weight": 1.5,
                "list_price": 20.0,
            },
        )
        quant_id = admin.call(
            "stock.quant",
            "create",
            {
                "product_id": self.product_id,
                "location_id": warehouse["lot_stock_id"][0],
                "inventory_quantity": 100,
            },
            context={**admin.context, "inventory_mode": True},
        )
        admin.call("stock.quant", "action_apply_inventory", [quant_id])
        shipping_product_id = admin.call(
            "product.product",
            "create",
            {"name": f"E2E Shipping {self.tag}", "type": "service"},
        )
        self.carrier_name = f"E2E Express {self.tag}"
        self.transit_days = 2
        tracking_url = f"{tracking_site}/track?number=<shipmenttrackingnumber>"
        self.carrier_id = admin.call(
            "delivery.carrier",
            "create",
            {
                "name": self.carrier_name,
                "delivery_type": "fixed",
                "fixed_price": 5.0,
                "product_id": shipping_product_id,
                "tracking_url": tracking_url,
                "shipment_transit_days": self.transit_days,
            },
        )
        self.users = {
            "warehouse": self._create_user("warehouse", "stock.group_stock_user"),
            "logistics": self._create_user("logistics", "stock.group_stock_manager"),
        }

    def _create_user(self, role, group_xmlid):
        login = f"e2e-{role}-{self.tag}"
        self.admin.call(
            "res.users",
            "create",
            {
                "name": f"E2E {role} {self.tag}",
                "login": login,
                "password": login,
                "email": f"{login}@example.com",
                "company_id": self.company_id,
                "company_ids": [(6, 0, [self.company_id])],
                "groups_id": [(6, 0, [self.admin.ref(group_xmlid)])],
            },
        )
        return login, login

    def new_delivery(self, quantity=2, carrier_id=None):
        """Confirm a sale order with the carrier (default: the shop's); return
        (order, delivery) dicts."""
        carrier_id = carrier_id or self.carrier_id
        order_id = self.admin.call(
            "sale.order",
            "create",
            {
                "partner_id": self.customer_id,
                "warehouse_id": self.warehouse_id,
                "carrier_id": carrier_id,
                "order_line": [
                    (0, 0, {"product_id": self.product_id, "product_uom_qty": quantity})
                ],
            },
        )
        self.admin.call("sale.order", "action_confirm", [order_id])
        order = self.admin.read_one("sale.order", order_id, ["name", "picking_ids"])
        assert len(order["picking_ids"]) == 1, order
        picking = self.admin.read_one(
            "stock.picking",
            order["picking_ids"][0],
            ["state", "carrier_id", "partner_id", "picking_type_code"],
        )
        assert picking["picking_type_code"] == "outgoing", picking
        assert picking["carrier_id"][0] == carrier_id, picking
        assert picking["state"] == "assigned", picking
        return order, picking

    # -- Customer notifications: when is everything sent? ---------------------
    # The one place that knows the notification bookkeeping: the tests wait
    # for notifications_settled(), then count what the SMTP sink and the SMS
    # gateway received, exactly. No time window proves an absence.

    def notifications_pending(self, picking_ids):
        """What may still email or text the customers of ``picking_ids``; an
        empty list when their notifications are settled:

        - no customer message of the outbox (``shipment.tracking.notification``,
          the dispatch notice included) queued: a channel to send or to
          retry (``pending``) or in Odoo's mail or SMS queue (``outgoing``);
        - no email of those deliveries in Odoo's mail queue: ``outgoing``, or
          ``exception`` (the outbox puts failed ones back in the queue);
        - no SMS of those deliveries queued (``outgoing``) or being handed to
          the gateway (``process``, in flight);
        - none of the crons that send (notifications, mail queue, SMS queue)
          running, nor due (a trigger or its next call in the past): every
          run our actions caused has finished and committed.

        A message waiting for a retry (its backoff) counts as pending: the
        tests' SMTP sink and gateway accept everything unless told otherwise."""
        ids = list(picking_ids)
        admin = self.admin
        pending = []
        queued = admin.call(
            "shipment.tracking.notification",
            "search_read",
            [("picking_id", "in", ids), ("state", "=", "queued")],
            ["picking_id", "kind", "email_state", "sms_state"],
        )
        pending += [
            f"{row['picking_id'][1]}: {row['kind']} message queued "
            f"(email {row['email_state']}, SMS {row['sms_state']})"
            for row in queued
        ]
        mails = admin.call(
            "mail.mail",
            "search_read",
            [
                ("model", "=", "stock.picking"),
                ("res_id", "in", ids),
                ("state", "in", ["outgoing", "exception"]),
            ],
            ["state"],
        )
        if mails:
            states = sorted(mail["state"] for mail in mails)
            pending.append(f"{len(mails)} email(s) in the mail queue: {states}")
        sms = admin.call(
            "sms.sms",
            "search_read",
            [
                ("mail_message_id.model", "=", "stock.picking"),
                ("mail_message_id.res_id", "in", ids),
                "|",
                ("state", "in", ["outgoing", "process"]),
                ("shipment_gateway_in_flight", "=", True),
            ],
            ["state"],
        )
        if sms:
            states = sorted(one["state"] for one in sms)
            pending.append(f"{len(sms)} SMS in the SMS queue: {states}")
        pending += [f"cron {name} {why}" for name, why in self.busy_crons()]
        return pending

    def notifications_settled(self, picking_ids):
        """Whether nothing can email or text the customers of
        ``picking_ids`` any more (see notifications_pending)."""
        return not self.notifications_pending(picking_ids)

    SENDING_CRONS = (
        "shipment_tracking.ir_cron_shipment_notification",
        "mail.ir_cron_mail_scheduler_action",
        "sms.ir_cron_sms_scheduler_action",
    )

    def cron_ids(self):
        if not hasattr(self, "_cron_ids"):
            self._cron_ids = {
                xmlid: self.admin.ref(xmlid) for xmlid in self.SENDING_CRONS
            }
        return self._cron_ids

    def busy_crons(self):
        """(xmlid, why) of the sending crons that are running or due.

        Running: the cron's newest ``ir.cron.progress`` has a non-zero
        ``timed_out_counter``; Odoo's cron worker commits it so before the
        job and resets it after (ir_cron._run_job). Runs started by hand
        (``method_direct_trigger``) do not show: the tests' own are
        synchronous, over by the time the RPC call returns. Due: a trigger
        or the next call is in the past, so a cron worker will run it."""
        admin = self.admin
        now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        busy = []
        for xmlid, cron_id in self.cron_ids().items():
            progress = admin.call(
                "ir.cron.progress",
                "search_read",
                [("cron_id", "=", cron_id)],
                ["timed_out_counter"],
                order="id desc",
                limit=1,
            )
            if progress and progress[0]["timed_out_counter"]:
                busy.append((xmlid, "running"))
                continue
            cron = admin.read_one("ir.cron", cron_id, ["active", "nextcall"])
            due_trigger = admin.call(
                "ir.cron.trigger",
                "search_count",
                [("cron_id", "=", cron_id), ("call_at", "<=", now)],
            )
            if cron["active"] and (due_trigger or cron["nextcall"] <= now):
                busy.append((xmlid, "due"))
        return busy

    def wait_notifications_settled(self, poll, picking_ids, timeout):
        """Wait until notifications_settled(picking_ids); fail with what is
        still pending after ``timeout`` seconds. Returns the number of
        stalled queue crons this had to run by hand (see below)."""
        ids = list(picking_ids)
        start = time.monotonic()
        deadline = start + timeout
        stalled_since = None
        nudges = 0
        while True:
            pending = self.notifications_pending(ids)
            if not pending:
                return nudges
            if time.monotonic() > deadline:
                pytest.fail(
                    f"notifications of {len(ids)} deliveries not settled within "
                    f"{timeout}s: {pending}; Odoo log tail:\n{log_tail(poll.log)}"
                )
            # Odoo's cron worker drops the triggers older than the start of a
            # run when the run ends: one created during that second by a run
            # of another cron is lost, and its queue waits for the next
            # periodic call (an hour). A queue left so, with its cron idle and
            # not due, is run by hand, loudly.
            if not all(" queue: " in line for line in pending):
                stalled_since = None
            elif stalled_since is None:
                stalled_since = time.monotonic()
            elif time.monotonic() - stalled_since > STALL_GRACE:
                warnings.warn(
                    f"queue stalled with its cron idle ({pending}): running the "
                    "mail and SMS queue crons by hand",
                    stacklevel=2,
                )
                for xmlid in self.SENDING_CRONS[1:]:
                    run_cron(self.admin, poll, xmlid)
                nudges += 1
                stalled_since = None
            time.sleep(poll.interval)


@pytest.fixture(scope="module")
def shop(admin, tracking_site):
    return Shop(admin, tracking_site)


@pytest.fixture(scope="module")
def sms_gateway():
    """A Twilio-style SMS gateway on loopback (shipment_tracking_sms/tests)."""
    gateway = FakeSmsGateway(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def http_gateway_company(admin, shop, sms_gateway):
    """The shop's company texting through the fake gateway; its previous SMS
    settings are restored afterwards (back to IAP). stock_sms's one-time
    "send SMS on validation?" question is left unanswered: it must not be
    asked for deliveries we text (test_validation_asks_no_stock_sms_question)."""
    before = admin.read_one("res.company", shop.company_id, SMS_GATEWAY_FIELDS)
    restore = {field: before[field] for field in SMS_GATEWAY_FIELDS}
    restore["shipment_sms_gateway"] = "iap"
    admin.call(
        "res.company",
        "write",
        [shop.company_id],
        {
            "shipment_sms_gateway": "http",
            "shipment_sms_http_base_url": sms_gateway.url,
            "shipment_sms_http_account_sid": ACCOUNT_SID,
            "shipment_sms_http_auth_token": AUTH_TOKEN,
            "shipment_sms_http_sender": SENDER,
            "shipment_notify_sms": True,
            "stock_move_sms_validation": True,
            "has_received_warning_stock_sms": False,
        },
    )
    yield shop.company_id
    admin.call("res.company", "write", [shop.company_id], restore)


@pytest.fixture(scope="module")
def mobile_customer(admin, shop):
    """The shop's (Belgian) customer with a mobile, hearing by email and SMS."""
    admin.call(
        "res.partner",
        "write",
        [shop.customer_id],
        {"mobile": MOBILE, "shipment_notification_channel": "both"},
    )
    return shop.customer_id


class Poller:
    """Polling with a deadline; a timeout fails with the server log's tail."""

    interval = 0.5

    def __init__(self, log):
        self.log = log

    def until(self, condition, what, timeout):
        """Return the first truthy value of ``condition()``."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                pytest.fail(
                    f"no {what} within {timeout}s; Odoo log tail:\n{log_tail(self.log)}"
                )
            time.sleep(self.interval)


@pytest.fixture(scope="module")
def poll(odoo_server):
    return Poller(odoo_server["log"])


def run_cron(admin, poll, xmlid):
    """Run a scheduled action now, as an administrator would from its form
    (the call returns once the run is over and committed); when a cron
    worker happens to be running it, try again."""
    cron_id = admin.ref(xmlid)

    def ran():
        try:
            return admin.call("ir.cron", "method_direct_trigger", [cron_id])
        except RPCError as error:
            if "currently being executed" in error.message:
                return False
            raise

    poll.until(ran, f"manual run of {xmlid}", CRON_TIMEOUT)

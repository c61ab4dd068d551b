"""Failures stay contained, and the demo stays on the laptop (issue 8, parts 4
and 5).

- An SMS handed to the HTTP gateway by a worker that is killed (SIGKILL)
  during the call is never sent again: a real Odoo process sends it to a
  gateway that holds the request, is killed, and later runs in fresh processes
  find the SMS in flight, mark it *fate unknown* and leave it for a person.
- docker-compose.yml publishes only on 127.0.0.1; the sandbox carrier binds
  to 127.0.0.1 by default.
"""

import os
import re
import signal
import subprocess
import sys
import uuid

import psycopg2
import pytest
from conftest import (
    PG,
    REPO,
    WORKER_TIMEOUT,
    log_tail,
    odoo_worker_cmd,
    run_odoo_worker,
)

# The fake gateway is stdlib-only; the add-on's own __init__ imports Odoo.
sys.path.insert(0, str(REPO / "shipment_tracking_sms" / "tests"))

from fake_sms_gateway import FakeSmsGateway  # noqa: E402
from sandbox import SandboxCarrier  # noqa: E402  (conftest put it on sys.path)
from sandbox.__main__ import parse_args as sandbox_args  # noqa: E402

ACCOUNT_SID = "ACcontain0123456"
AUTH_TOKEN = "containment-token"
MOBILE = "+32470555111"
GATEWAY_FIELDS = (
    "shipment_sms_gateway",
    "shipment_sms_http_base_url",
    "shipment_sms_http_account_sid",
    "shipment_sms_http_auth_token",
    "shipment_sms_http_sender",
)

# One run of an Odoo worker process on the test database, as the SMS queue
# cron runs it (_process_queue commits after each SMS outside tests); after
# conftest's WORKER_PROLOGUE.
WORKER = r"""
from odoo import SUPERUSER_ID, api

with registry.cursor() as cr:
    env = api.Environment(cr, SUPERUSER_ID, {})
    company = env.ref("base.main_company")
    action = args["action"]
    result = {}
    if action == "setup":
        result["restore"] = company.read(args["fields"])[0]
        company.write(args["gateway"])
        partner = env["res.partner"].create(
            {"name": "Containment " + args["tag"], "mobile": args["mobile"]}
        )
        message = partner._message_sms(
            args["body"],
            partner_ids=partner.ids,
            sms_pid_to_number={partner.id: args["mobile"]},
            put_in_queue=True,
        )
        sms = env["sms.sms"].search([("mail_message_id", "=", message.id)])
        result["sms_id"] = sms.id
    elif action == "queue":
        # The SMS queue cron's work, on this SMS only (other queued SMS of the
        # database may go through IAP, which must not be called from tests).
        env["sms.sms"]._process_queue(ids=[args["sms_id"]])
    elif action == "restore":
        company.write(args["values"])
        # A failed run must not leave its SMS for other tests' queue runs.
        sms = env["sms.sms"].browse(args["sms_id"]).exists()
        sms.filtered(lambda s: s.state in ("outgoing", "process")).write(
            {"state": "canceled", "shipment_gateway_in_flight": False}
        )
print(json.dumps(result), flush=True)
"""


def _worker_cmd(db, data_dir, action, **params):
    return odoo_worker_cmd(WORKER, db, data_dir, action=action, **params)


def _run_worker(db, data_dir, log, action, **params):
    return run_odoo_worker(WORKER, db, data_dir, log, action=action, **params)


def _sms_row(db, sms_id):
    """The SMS and its chatter notification as committed in the database."""
    conn = psycopg2.connect(dbname=db, **PG)
    try:
        with conn.cursor() as cr:
            cr.execute(
                """SELECT s.state, s.shipment_gateway_in_flight, s.failure_type,
                          s.shipment_gateway_fate_unknown,
                          s.shipment_gateway_error, s.to_delete,
                          n.notification_status, n.failure_reason
                     FROM sms_sms s
                     LEFT JOIN sms_tracker t ON t.sms_uuid = s.uuid
                     LEFT JOIN mail_notification n ON n.id = t.mail_notification_id
                    WHERE s.id = %s""",
                [sms_id],
            )
            row = cr.fetchone()
    finally:
        conn.close()
    keys = (
        "state",
        "in_flight",
        "failure_type",
        "fate_unknown",
        "error",
        "to_delete",
        "notification_status",
        "notification_reason",
    )
    return dict(zip(keys, row, strict=True)) if row else None


@pytest.fixture(scope="module")
def sms_gateway():
    gateway = FakeSmsGateway(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
    yield gateway
    gateway.release()
    gateway.stop()


@pytest.fixture
def queued_sms(e2e_db, sms_gateway, tmp_path):
    """One SMS queued for the main company, switched to the fake HTTP gateway
    (its settings restored afterwards); yields (db, data_dir, log, sms)."""
    db, data_dir = e2e_db
    log = tmp_path / "workers.log"
    tag = uuid.uuid4().hex[:8]
    body = f"Containment {tag}: your parcel is on its way"
    setup = _run_worker(
        db,
        data_dir,
        log,
        "setup",
        tag=tag,
        body=body,
        mobile=MOBILE,
        fields=list(GATEWAY_FIELDS),
        gateway={
            "shipment_sms_gateway": "http",
            "shipment_sms_http_base_url": sms_gateway.url,
            "shipment_sms_http_account_sid": ACCOUNT_SID,
            "shipment_sms_http_auth_token": AUTH_TOKEN,
            "shipment_sms_http_sender": "+32460000009",
        },
    )
    restore = {field: setup["restore"][field] for field in GATEWAY_FIELDS}
    try:
        yield db, data_dir, log, {"id": setup["sms_id"], "body": body}
    finally:
        sms_gateway.release()
        _run_worker(
            db, data_dir, log, "restore", values=restore, sms_id=setup["sms_id"]
        )


def _calls_for(gateway, body):
    return [r for r in gateway.requests if r["form"].get("Body") == body]


def test_sms_worker_killed_during_gateway_call_is_never_resent(queued_sms, sms_gateway):
    db, data_dir, log, sms = queued_sms
    assert _sms_row(db, sms["id"])["state"] == "outgoing"
    before = len(sms_gateway.requests)

    # A worker sends the queue; the gateway takes the request and holds it.
    sms_gateway.hold()
    with open(log, "a", encoding="utf-8") as err:
        worker = subprocess.Popen(
            _worker_cmd(db, data_dir, "queue", sms_id=sms["id"]),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    try:
        arrived = sms_gateway.wait_for_requests(before + 1, timeout=WORKER_TIMEOUT)
        assert arrived, f"the worker never called the gateway:\n{log_tail(log)}"
        # Marked and committed before the call: another connection sees it.
        in_flight = _sms_row(db, sms["id"])
        assert in_flight["state"] == "process" and in_flight["in_flight"], in_flight
        assert in_flight["notification_status"] == "process", in_flight
        # Another run meanwhile leaves it alone: its worker is alive.
        _run_worker(db, data_dir, log, "queue", sms_id=sms["id"])
        assert _sms_row(db, sms["id"]) == in_flight
        assert worker.poll() is None
        # The worker dies mid-call.
        os.killpg(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=30) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
        sms_gateway.release()
    assert len(_calls_for(sms_gateway, sms["body"])) == 1

    # The next run, in a fresh process, says so on the record and sends nothing.
    _run_worker(db, data_dir, log, "queue", sms_id=sms["id"])
    flagged = _sms_row(db, sms["id"])
    assert flagged["state"] == "error", flagged
    assert flagged["failure_type"] == "unknown", flagged
    assert flagged["fate_unknown"], flagged
    assert not flagged["in_flight"], flagged
    assert not flagged["to_delete"], "kept in sight"
    assert flagged["error"], "the reason is on the SMS"
    assert flagged["notification_status"] == "exception", flagged
    assert flagged["notification_reason"] == flagged["error"], flagged

    # Later runs leave it alone: the gateway received the SMS exactly once.
    _run_worker(db, data_dir, log, "queue", sms_id=sms["id"])
    assert _sms_row(db, sms["id"])["state"] == "error"
    assert len(_calls_for(sms_gateway, sms["body"])) == 1


def test_sms_server_error_is_fate_unknown_and_never_resent(queued_sms, sms_gateway):
    """A 502 (a proxy before the gateway, after the gateway may have taken the
    SMS): fate unknown, no host or account in the reason, never resent."""
    db, data_dir, log, sms = queued_sms
    sms_gateway.fail_status = 502
    sms_gateway.fail_next = 1
    try:
        _run_worker(db, data_dir, log, "queue", sms_id=sms["id"])
    finally:
        sms_gateway.fail_next = 0
        sms_gateway.fail_status = 500
    failed = _sms_row(db, sms["id"])
    assert failed["state"] == "error", failed
    assert failed["failure_type"] == "unknown", failed
    assert failed["fate_unknown"] and not failed["in_flight"], failed
    assert "502" in failed["error"], failed
    for secret in (ACCOUNT_SID, sms_gateway.url.removeprefix("http://")):
        assert secret not in failed["error"], failed
        assert secret not in failed["notification_reason"], failed
    _run_worker(db, data_dir, log, "queue", sms_id=sms["id"])
    assert _sms_row(db, sms["id"])["state"] == "error"
    assert len(_calls_for(sms_gateway, sms["body"])) == 1


# Part 5: the demo is safe to run on a laptop in a café --------------------------

# A short-syntax port: ["host_ip:"]host_port:container_port[/protocol].
PORT_ENTRY = re.compile(
    r"""^-\s+(?P<q>["']?)(?:(?P<ip>[0-9.]+|\[[0-9a-fA-F:]+\]):)?"""
    r"""(?P<host>\d+(?:-\d+)?):(?P<container>\d+(?:-\d+)?)(?:/(?:tcp|udp))?(?P=q)$"""
)


def compose_published_ports(text):
    """(service, host_ip, entry) of every ``ports:`` entry of a compose file.

    A strict reader (no YAML library in the test requirements): any ``ports``
    written another way (flow list, long syntax, bare container port, which
    Docker publishes on every interface) is reported with host_ip None."""
    published = []
    service = None
    ports_indent = None
    in_services = False
    for raw in text.splitlines():
        line = (
            raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        )
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        content = line.strip()
        if indent == 0:
            in_services = content == "services:"
            ports_indent = None
            continue
        if ports_indent is not None and indent > ports_indent:
            match = PORT_ENTRY.match(content)
            published.append((service, match and match["ip"], content))
            continue
        ports_indent = None
        if in_services and indent == 2 and content.endswith(":"):
            service = content[:-1]
        elif content.startswith("ports:"):
            if content != "ports:":
                published.append((service, None, content))
            ports_indent = indent
    return published


def test_compose_publishes_on_loopback_only():
    text = (REPO / "docker-compose.yml").read_text(encoding="utf-8")
    published = compose_published_ports(text)
    services = {service for service, _ip, _entry in published}
    assert services == {"odoo", "sandbox", "mailpit"}, published
    for service, host_ip, entry in published:
        assert host_ip == "127.0.0.1", f"{service} publishes {entry!r} beyond loopback"
    assert not re.search(r"^\s*network_mode:\s*[\"']?host", text, re.M)


def test_compose_reader_catches_every_exposure():
    """The reader above fails open on nothing it does not understand."""
    text = """services:
  db:
    image: postgres:16
    ports:
      - "5432:5432"
  odoo:
    ports:
      - 8069
      - "0.0.0.0:8069:8069"
      - target: 8069
        published: 8069
  sandbox:
    ports: ["8070:8070"]
  ok:
    ports:
      - "127.0.0.1:8071:8071"
"""
    found = {(service, ip) for service, ip, _entry in compose_published_ports(text)}
    assert ("db", None) in found
    assert ("odoo", "0.0.0.0") in found
    assert ("odoo", None) in found
    assert ("sandbox", None) in found
    assert ("ok", "127.0.0.1") in found


def test_sandbox_binds_loopback_by_default():
    assert sandbox_args([]).host == "127.0.0.1"
    assert SandboxCarrier().host == "127.0.0.1"
    with SandboxCarrier(quiet=True) as carrier:
        assert carrier._server.server_address[0] == "127.0.0.1"

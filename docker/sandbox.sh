#!/usr/bin/env bash
# The sandbox carrier of docker-compose.yml, in the odoo image (its python3 runs
# the stdlib-only sandbox; its psql reads the database). Waits until the demo
# carrier is in the database (the odoo service installs it on its first start),
# points the carrier's API base URL at this service, then serves with the
# carrier's webhook URL: its id is read from the database, never assumed.
# Environment: libpq's PGHOST, PGUSER, PGPASSWORD, PGDATABASE; WAIT_SECONDS
# (default 1800) for the first install.
set -euo pipefail

base_url=http://sandbox:8070
# The carrier's id once no module waits to be installed or upgraded: the
# carrier's row is not written while Odoo's install may still write it.
carrier_sql="SELECT res_id FROM ir_model_data
  WHERE module = 'shipment_tracking_carrier_generic'
    AND name = 'delivery_carrier_sandbox_demo' AND model = 'delivery.carrier'
    AND NOT EXISTS (SELECT 1 FROM ir_module_module
                     WHERE state IN ('to install', 'to upgrade'))"

carrier_id=
deadline=$((SECONDS + ${WAIT_SECONDS:-1800}))
until carrier_id=$(psql -XAtq -v ON_ERROR_STOP=1 -c "$carrier_sql" 2>/dev/null) &&
  [ -n "$carrier_id" ]; do
  if ((SECONDS > deadline)); then
    echo "sandbox: the demo carrier never appeared in $PGDATABASE" >&2
    exit 1
  fi
  sleep 5
done
[[ "$carrier_id" =~ ^[0-9]+$ ]] || {
  echo "sandbox: unexpected carrier id '$carrier_id'" >&2
  exit 1
}
psql -XAtq -v ON_ERROR_STOP=1 -v url="$base_url" -v id="$carrier_id" <<'SQL'
UPDATE delivery_carrier SET generic_base_url = :'url'
 WHERE id = :id AND generic_base_url IS DISTINCT FROM :'url';
SQL
echo "sandbox: demo carrier $carrier_id, API base URL $base_url" >&2

cd /mnt/extra-addons/shipment_tracking_carrier_generic
exec python3 -m sandbox \
  --host 0.0.0.0 --port 8070 \
  --api-key sandbox-demo-key --webhook-secret sandbox-demo-secret \
  --webhook-url "http://odoo:8069/shipment_tracking/webhook/$carrier_id" \
  --public-url http://localhost:8070

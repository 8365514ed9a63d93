#!/usr/bin/env bash
# Starts Node-RED with one of the benchmark flows, in the foreground: the caller backgrounds it
# (`bench/nodered/start.sh &`), waits with `node bench/nodered/ready.mjs`, and stops it with
# `kill $pid` (SIGTERM; Node-RED exits cleanly). After the checks this script execs node, so the
# pid the caller holds is Node-RED's own.
#
# Env (see README.md):
#   FLOW       bare | durable                      (default bare)
#   NR_PORT    port of Node-RED's HTTP server; the alerts are on ws://127.0.0.1:$NR_PORT/alerts
#   MQTT_PORT  broker port; MQTT_HOST (default 127.0.0.1)
#   QOS        subscription QoS of `mqtt in`: 0, 1 or 2 (default 0)
#   PG_URL     postgres://user:pass@host:port/db  or  PG_PORT (+ PGHOST, PGUSER, PGDATABASE,
#              PGPASSWORD; defaults 127.0.0.1, postgres, postgres, none)   -- durable only
#   NR_WAIT_S  seconds to wait for the broker / PostgreSQL before giving up (default 10)
#   NR_LOG_LEVEL  Node-RED log level (default warn)
#   NR_NODE_ARGS  extra arguments for node, e.g. "--max-old-space-size=2048"
# Exit status: 2 when not installed, 1 when the environment is wrong or a service is unreachable
# (one line on stderr says which); otherwise Node-RED's own.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ ! -f "$here/node_modules/node-red/red.js" ]]; then
    echo "start.sh: Node-RED is not installed: run 'npm ci --prefix bench/nodered' first" >&2
    exit 2
fi

exports=$(node "$here/preflight.mjs") || exit 1
eval "$exports"

# A fresh userDir for every start (Node-RED writes its runtime config there); git-ignored.
userdir="$here/userdir/$FLOW-$NR_PORT"
rm -rf "$userdir"
mkdir -p "$userdir"
cp "$here/$FLOW.json" "$userdir/flows.json"
export NR_FLOW_FILE="$userdir/flows.json"

# shellcheck disable=SC2086 # NR_NODE_ARGS is a list of words
exec node ${NR_NODE_ARGS:-} "$here/node_modules/node-red/red.js" \
    --settings "$here/settings.js" --userDir "$userdir"

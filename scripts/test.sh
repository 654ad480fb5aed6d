#!/usr/bin/env bash
# Install everything the tests need, then run the whole suite: lint, types, tests.
# Debian packages come first (needs root, as on CI): net-snmp's tools (the tests read the
# simulator with snmpget/snmpwalk), Chromium (the tests render the web page) and the
# time-series servers VictoriaMetrics and InfluxDB (the metric store contract runs on them).
set -euo pipefail
cd "$(dirname "$0")/.."

debs=()
command -v snmpget >/dev/null 2>&1 || debs+=(snmp)
command -v chromium >/dev/null 2>&1 || debs+=(chromium)
command -v victoria-metrics >/dev/null 2>&1 || debs+=(victoria-metrics)
command -v influxd >/dev/null 2>&1 || debs+=(influxdb)
if ((${#debs[@]})); then
    if [ "$(id -u)" -ne 0 ]; then
        echo "scripts/test.sh: need root to install Debian packages: ${debs[*]}" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${debs[@]}"
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"

.venv/bin/ruff check .
.venv/bin/lint-imports
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/pytest "$@"

#!/usr/bin/env bash
# Install everything the tests need, then run the whole suite: lint, import contracts,
# types, tests. Exits non-zero on the first failure.
#
# Debian packages come first (needs root, as on CI), each only when missing:
#   snmp              net-snmp's snmpget/snmpwalk read the simulator
#   chromium          the tests render the web page
#   victoria-metrics  } the metric store contract runs on both time-series servers
#   influxdb          }
#   postgresql        every test that uses the database runs again on a real PostgreSQL
#   freeradius-utils  radclient, an independent RADIUS client, drives the receiver
#   poppler-utils     pdftoppm/pdftotext read the partner reports' PDFs back
# The tests use only the servers' binaries: they start their own on temporary
# directories and free loopback ports. So installing leaves no system service enabled
# or running: a temporary policy-rc.d stops the packages starting theirs, the units they
# enable at boot are disabled, and the default PostgreSQL cluster the install creates
# is dropped.
set -euo pipefail
cd "$(dirname "$0")/.."

POLICY_RC_D=/usr/sbin/policy-rc.d
SERVER_DEBS=(victoria-metrics influxdb postgresql) # packages that ship a system service

have_postgresql() {
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

# Stop invoke-rc.d / deb-systemd-invoke starting services while packages install. An
# existing policy (as in Debian's container images) is left alone; ours is removed on
# any exit of this script.
forbid_service_starts() {
    [ -e "$POLICY_RC_D" ] && return 0
    trap 'rm -f "$POLICY_RC_D"' EXIT
    printf '#!/bin/sh\n# written by citywifi scripts/test.sh while it installs packages\nexit 101\n' \
        >"$POLICY_RC_D"
    chmod 755 "$POLICY_RC_D"
}

allow_service_starts() {
    if grep -qs 'citywifi scripts/test.sh' "$POLICY_RC_D"; then
        rm -f "$POLICY_RC_D"
    fi
    trap - EXIT
}

# Disable (and, under a running systemd, stop) the named services, whichever init
# system the machine has.
disable_services() {
    local service units
    for service in "$@"; do
        units=""
        if command -v systemctl >/dev/null 2>&1; then
            units=$(systemctl list-unit-files "$service.service" 2>/dev/null || true)
        fi
        if [[ $units == *"$service.service"* ]]; then
            systemctl disable --quiet "$service.service" 2>/dev/null || true
            if [ -d /run/systemd/system ]; then
                systemctl stop "$service.service" 2>/dev/null || true
            fi
        fi
        if [ -x "/etc/init.d/$service" ]; then
            if command -v update-rc.d >/dev/null 2>&1; then
                update-rc.d "$service" disable >/dev/null 2>&1 || true
            fi
            if "/etc/init.d/$service" status >/dev/null 2>&1; then
                "/etc/init.d/$service" stop >/dev/null 2>&1 || true
            fi
        fi
    done
    return 0
}

# Drop the PostgreSQL clusters that are not in the list given (those made just now).
drop_new_clusters() {
    local before=" $* " version cluster
    command -v pg_lsclusters >/dev/null 2>&1 || return 0
    while read -r version cluster _; do
        case "$before" in
        *" $version/$cluster "*) ;;
        *) pg_dropcluster --stop "$version" "$cluster" ;;
        esac
    done < <(pg_lsclusters --no-header 2>/dev/null)
}

clusters() {
    command -v pg_lsclusters >/dev/null 2>&1 || return 0
    pg_lsclusters --no-header 2>/dev/null | awk '{print $1 "/" $2}'
}

debs=()
command -v snmpget >/dev/null 2>&1 || debs+=(snmp)
command -v chromium >/dev/null 2>&1 || debs+=(chromium)
command -v victoria-metrics >/dev/null 2>&1 || debs+=(victoria-metrics)
command -v influxd >/dev/null 2>&1 || debs+=(influxdb)
have_postgresql || debs+=(postgresql)
command -v radclient >/dev/null 2>&1 || debs+=(freeradius-utils)
command -v pdftoppm >/dev/null 2>&1 || debs+=(poppler-utils)
if ((${#debs[@]})); then
    if [ "$(id -u)" -ne 0 ]; then
        echo "scripts/test.sh: need root to install Debian packages: ${debs[*]}" >&2
        exit 1
    fi
    mapfile -t clusters_before < <(clusters)
    forbid_service_starts
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${debs[@]}"
    for deb in "${debs[@]}"; do
        if [[ " ${SERVER_DEBS[*]} " == *" $deb "* ]]; then
            disable_services "$deb"
        fi
        if [ "$deb" = postgresql ]; then
            drop_new_clusters "${clusters_before[@]}"
        fi
    done
    allow_service_starts
fi

# PostgreSQL is installed now: its tests must fail, not skip, if it cannot be found.
export CITYWIFI_REQUIRE_POSTGRES=1

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"

.venv/bin/ruff check .
.venv/bin/lint-imports
.venv/bin/ruff format --check .
.venv/bin/mypy
# Tests that are not live run on SQLite, and those among them that use the inventory
# database run again on PostgreSQL (the `database` marker comes from the fixture closure:
# no hand-kept list); they share the two cores (pytest-xdist). Live tests (`slow`: real
# processes on real sockets, timed in poll intervals) run one at a time, once: those that
# use the database on PostgreSQL, what a deployment of several processes uses; the
# others (the demo: its own SQLite) as they are.
.venv/bin/pytest -n 2 -m "not slow" "$@"
# The browser tests are left out of the PostgreSQL pass: they test the pages, and every
# route the pages call runs on PostgreSQL in tests/api.
.venv/bin/pytest -n 2 --database postgresql -m "database and not slow" --ignore=tests/dashboards "$@"
.venv/bin/pytest -m "slow and not database" "$@"
.venv/bin/pytest --database postgresql -m "slow and database" "$@"

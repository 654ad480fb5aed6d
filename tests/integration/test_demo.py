"""``citywifi demo`` as a service manager or a terminal treats it: stopped, killed, doubled.

Each test runs the real command (a 20-AP city on free ports), finds the demo's process
tree in /proc once it serves, then signals the demo alone and checks that no process of
that tree is left within 5 s. Every wait polls a condition against a deadline.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulators.city import build_city
from tests.fixtures.accounts import demo_users
from tests.fixtures.processes import citywifi_env, wait_for

pytestmark = pytest.mark.slow

APS = 20
GONE_WITHIN_S = 5.0
START_TIMEOUT_S = 90.0

Proc = tuple[int, int]  # (pid, start time in clock ticks): a PID is not reused unseen


def _stat(pid: int) -> tuple[int, int, str] | None:
    """(parent PID, start time, state) of a process, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the name may hold spaces and parens
    return int(fields[1]), int(fields[19]), fields[0]


def process_tree(root: int) -> set[Proc]:
    """``root`` and every descendant, as (pid, start time)."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            children.setdefault(stat[0], []).append((int(entry.name), stat[1]))
    start = _stat(root)
    assert start is not None, f"process {root} is gone"
    found, todo = {(root, start[1])}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child[0])
    return found


def alive(procs: set[Proc]) -> set[Proc]:
    """Those still running (a zombie has ended; only its parent's wait is missing)."""
    left = set()
    for pid, started in procs:
        stat = _stat(pid)
        if stat is not None and stat[1] == started and stat[2] != "Z":
            left.add((pid, started))
    return left


@dataclass
class Demo:
    popen: subprocess.Popen[bytes]
    data_dir: Path
    port: int
    log: Path
    seen: set[Proc]  # every process of every tree seen, for the fixture's clean-up

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def users(self) -> dict[str, list[str]]:
        return demo_users(self.output())

    def status(self) -> dict[str, Any] | None:
        """The status API's answer (with the demo admin's token), or None while it does
        not answer."""
        if self.popen.poll() is not None:
            raise AssertionError(f"the demo exited ({self.popen.returncode}):\n{self.output()}")
        admin = self.users().get("admin")
        if admin is None:
            return None
        try:
            response = httpx.get(
                f"http://127.0.0.1:{self.port}/api/v1/status",
                headers={"Authorization": f"Bearer {admin[-1]}"},
                timeout=5,
            )
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        shown: dict[str, Any] = response.json()
        return shown

    def serving(self) -> set[Proc]:
        """Wait for the API, then the demo's whole tree (the demo and its children)."""
        wait_for(self.status, START_TIMEOUT_S, "the demo's API")
        tree = process_tree(self.pid)
        self.seen.update(tree)
        assert len(tree) >= 3, f"expected the demo, the simulator and the collector: {tree}"
        return tree


def wait_gone(procs: set[Proc], within_s: float) -> float:
    """Seconds until none of ``procs`` runs; fails past ``within_s``."""
    start = time.monotonic()
    deadline = start + within_s
    while alive(procs):
        if time.monotonic() > deadline:
            raise AssertionError(f"still running {within_s:.0f} s later: {sorted(alive(procs))}")
        time.sleep(0.05)
    return time.monotonic() - start


@pytest.fixture
def start_demo(
    tmp_path: Path, free_tcp_port: Callable[[], int], free_udp_port: Callable[[], int]
) -> Iterator[Callable[[Path], Demo]]:
    """Start ``citywifi demo`` on free ports in its own session (as from a terminal).
    At the end, whatever is left of any tree seen is killed: a failing test leaves
    nothing behind either."""
    started: list[Demo] = []
    seen: set[Proc] = set()

    def start(data_dir: Path) -> Demo:
        port = free_tcp_port()
        # The RADIUS receiver's port is a setting (the demo has no option for it).
        env = citywifi_env(data_dir)
        log = tmp_path / f"demo{len(started)}.log"
        args = [
            "--data-dir", str(data_dir), "demo", "--aps", str(APS), "--port", str(port),
            "--snmp-port", str(free_udp_port()), "--ssh-port", str(free_tcp_port()),
            "--control-port", "0", "--interval", "2", "--radius-port", str(free_udp_port()),
        ]  # fmt: skip
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [sys.executable, "-m", "citywifi", *args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        demo = Demo(popen, data_dir, port, log, seen)
        started.append(demo)
        return demo

    try:
        yield start
    finally:
        for demo in started:
            if demo.popen.poll() is None:
                seen.update(process_tree(demo.pid))
        for pid, _ in alive(seen):
            os.kill(pid, signal.SIGKILL)
        for demo in started:
            demo.popen.wait(timeout=30)


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(lambda pid: os.kill(pid, signal.SIGTERM), id="SIGTERM"),
        pytest.param(lambda pid: os.killpg(pid, signal.SIGINT), id="Ctrl-C"),
    ],
)
def test_a_stopped_demo_leaves_no_process(
    start_demo: Callable[[Path], Demo], tmp_path: Path, stop: Callable[[int], None]
) -> None:
    demo = start_demo(tmp_path / "state")
    tree = demo.serving()
    assert sorted(demo.users()) == ["admin", "engineer", "field", "partner", "planner"]
    assert demo.users()["partner"][2] != "-"  # bound to one of the city's partners
    stop(demo.pid)  # Ctrl-C: the terminal signals the demo's process group
    took = wait_gone(tree, GONE_WITHIN_S)
    assert demo.popen.wait(timeout=5) == 0
    assert "citywifi demo: stopped" in demo.output()
    print(f"demo tree of {len(tree)} gone {took:.2f} s after the signal")


def test_a_killed_demo_takes_its_children_and_the_next_one_serves(
    start_demo: Callable[[Path], Demo], tmp_path: Path
) -> None:
    first = start_demo(tmp_path / "state")
    tree = first.serving()
    first.popen.kill()
    took = wait_gone(tree, GONE_WITHIN_S)
    print(f"demo tree of {len(tree)} gone {took:.2f} s after SIGKILL")

    second = start_demo(tmp_path / "state")
    second.serving()

    def all_up() -> bool:
        shown = second.status()
        return shown is not None and shown["summary"]["up"] == APS

    wait_for(all_up, START_TIMEOUT_S, f"all {APS} APs up in the second demo")


def test_a_second_demo_on_the_same_state_is_refused(
    start_demo: Callable[[Path], Demo], tmp_path: Path
) -> None:
    first = start_demo(tmp_path / "state")
    tree = first.serving()
    inventory = tmp_path / "state" / "demo" / "city.yaml"
    assert inventory.exists()

    second = start_demo(tmp_path / "state")
    assert second.popen.wait(timeout=60) == 1
    lines = second.output().splitlines()
    assert lines == [
        f"error: {tmp_path / 'state' / 'demo'} is in use by another demo (PID {first.pid});"
        " stop it, or give this one another --data-dir"
    ]
    assert alive(tree) == tree  # the first demo is untouched and keeps serving
    assert inventory.exists()
    assert first.status() is not None


def test_the_demo_keeps_hotspot_sessions_from_radius_accounting(
    start_demo: Callable[[Path], Demo], tmp_path: Path
) -> None:
    """The simulator's hotspot APs send accounting to the demo's receiver (started after
    them: nothing is lost on the way), which keeps their sessions; no other AP has any."""
    demo = start_demo(tmp_path / "state")
    tree = demo.serving()
    assert "hotspot sessions from RADIUS accounting on udp 127.0.0.1:" in demo.output()
    hotspots = {ap.id for ap in build_city(APS, seed=1).aps if ap.hotspot}
    database = demo.data_dir / "demo" / "inventory.sqlite"

    def sessions() -> list[tuple[str, str]] | None:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT ap_id, state FROM accounting_sessions").fetchall()
        return [(str(ap), str(state)) for ap, state in rows] or None

    rows = wait_for(sessions, START_TIMEOUT_S, "hotspot sessions in the demo's database")
    assert {ap for ap, _ in rows} <= hotspots
    assert any(state == "open" for _, state in rows)
    os.kill(demo.pid, signal.SIGTERM)
    wait_gone(tree, GONE_WITHIN_S)


def test_a_newcomer_logs_in_with_a_printed_account_and_sees_the_city(
    start_demo: Callable[[Path], Demo], tmp_path: Path
) -> None:
    """The issue's newcomer: the printed URL serves the page; each printed account logs
    in with its password the way the page does; the engineer sees the map and the
    incidents, the planner the coverage of every district, the partner only its own
    sites (the browser views themselves are tests/dashboards')."""
    demo = start_demo(tmp_path / "state")
    tree = demo.serving()
    url = f"http://127.0.0.1:{demo.port}/"
    assert f"open {url}" in demo.output()
    users = demo.users()

    @contextlib.contextmanager
    def logged_in(role: str) -> Iterator[httpx.Client]:
        name, _role, _partner, password, _token = users[role]
        with httpx.Client(base_url=url, timeout=10) as client:
            answer = client.post("/api/v1/auth/login", json={"name": name, "password": password})
            assert answer.status_code == 200, answer.text
            yield client

    try:
        assert "<!doctype html>" in httpx.get(url, timeout=10).text.lower()
        city = build_city(APS, seed=1)
        with logged_in("engineer") as engineer:
            sites = engineer.get("/api/v1/map/sites").json()
            assert sites["count"] == len(city.sites) > 0
            districts = engineer.get("/api/v1/map/districts").json()["features"]
            assert districts and all(d["geometry"] is not None for d in districts)
            assert engineer.get("/api/v1/incidents").status_code == 200
        with logged_in("planner") as planner:
            coverage = planner.get("/api/v1/coverage").json()
            assert len(coverage["data"]) == len(districts) == len(city.districts)
        partner = users["partner"][2]
        with logged_in("partner") as sponsor:
            own = sponsor.get("/api/v1/map/sites").json()["features"]
            assert own and {f["properties"]["partner"] for f in own} == {partner}
    finally:
        os.kill(demo.pid, signal.SIGTERM)
        wait_gone(tree, GONE_WITHIN_S)

"""Benchmark the simulated SNMP agent: CPU per 15-OID GET and per GETBULK, in-process.

A plain script, not a test: it prints figures for docs/benchmarks.md. It times exactly
what the agent does per datagram (decode, community check, MIB lookups and value
computation, encode) through ``Responder.answer``, with no sockets, over requests spread
across a whole city so that per-AP caches do not flatter the figure.

    .venv/bin/python bench/bench_simulator.py                  # 2,000 APs, 20,000 GETs
    .venv/bin/python bench/bench_simulator.py --aps 200 --requests 5000
    .venv/bin/python bench/bench_simulator.py --v3        # SNMPv3 authPriv (SHA + AES)

With ``--v3`` every AP is served as a v3 AP and every request is a discovered, in-window
authPriv message (HMAC-SHA-96 + AES-128-CFB), built by a manager-side encoder up front.
"""

from __future__ import annotations

import argparse
import time

from simulators import ber, usm
from simulators.city import Credential, SimAp, build_city
from simulators.responder import Responder

T0 = 1_700_000_000.0


def poll_oids(ap: SimAp) -> list[ber.Oid]:
    """The 15 OIDs a collector asks an AP for in one poll."""
    oids = ["1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.25.3.3.1.2.1"]
    for if_index in (1, 2, 3):
        oids += [
            f"1.3.6.1.2.1.2.2.1.8.{if_index}",
            f"1.3.6.1.2.1.31.1.1.1.6.{if_index}",
            f"1.3.6.1.2.1.31.1.1.1.10.{if_index}",
        ]
    if ap.vendor.name == "mikrotik":
        oids += ["1.3.6.1.4.1.14988.1.1.1.3.1.6.2", "1.3.6.1.4.1.14988.1.1.1.3.1.6.3"]
    else:
        oids += ["1.3.6.1.4.1.41112.1.6.1.2.1.8.1", "1.3.6.1.4.1.41112.1.6.1.2.1.8.2"]
    oids += ["1.3.6.1.2.1.2.2.1.14.2"]
    assert len(oids) == 15
    return [ber.parse_oid(oid) for oid in oids]


def measure(
    name: str, jobs: list[tuple[Responder, bytes]], clock: list[float], step: float = 0.01
) -> None:
    answered = 0
    start_cpu, start_wall = time.process_time(), time.perf_counter()
    for responder, request in jobs:
        clock[0] += step  # every request sees a new instant: no value caching across them
        if responder.answer(request) is not None:
            answered += 1
    cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start_wall
    assert answered == len(jobs), f"{len(jobs) - answered} requests went unanswered"
    print(
        f"{name:<32} {len(jobs):>7} requests  "
        f"{cpu / len(jobs) * 1e6:8.1f} us CPU/request  {wall / len(jobs) * 1e6:8.1f} us wall"
    )


def v3_request(
    ap: SimAp, tag: int, request_id: int, oids: list[ber.Oid], max_repetitions: int
) -> bytes:
    """An authPriv request as a manager sends it after discovery (in the time window)."""
    agent, v3 = ap.usm, ap.v3
    assert agent is not None and v3 is not None
    user = usm.UsmUser.from_passwords(
        v3.user,
        agent.engine_id,
        auth_protocol=v3.auth_protocol,
        auth_password=v3.auth_key,
        priv_protocol=v3.priv_protocol,
        priv_password=v3.priv_key,
    )
    boots, engine_time = agent.clock(T0)
    pdu = ber.encode_pdu(
        tag, request_id, 0, max_repetitions, [(ber.encode_oid(oid), ber.NULL_TLV) for oid in oids]
    )
    flags = usm.FLAG_AUTH | usm.FLAG_PRIV | usm.FLAG_REPORTABLE
    scoped = usm.encode_scoped_pdu(agent.engine_id, b"", pdu)
    return usm.encode_message(
        agent.engine_id, request_id, flags, user, user.name, boots, engine_time, scoped
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aps", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--v3", action="store_true", help="SNMPv3 authPriv on every AP")
    args = parser.parse_args()

    start = time.perf_counter()
    city = build_city(args.aps, seed=1)
    clock = [T0]
    if args.v3:
        profile = Credential(
            "bench", "", "3", "noc", "SHA", "auth-key-12345678", "AES", "priv-12345678"
        )
        for ap in city.aps:
            ap.v3 = profile
    else:  # the whole city on v2c, as before the v3 migration, to compare like with like
        for ap in city.aps:
            if ap.v3 is not None:
                ap.v3, ap.community = None, "cw-bench-community"
    responders = [
        Responder(ap.mib, ap.community.encode(), clock=lambda: clock[0], usm=ap.usm)
        for ap in city.aps
    ]
    print(f"built a city of {args.aps} APs with MIBs in {time.perf_counter() - start:.2f} s")

    gets, bulks = [], []
    for i in range(args.requests):
        k = i % len(city.aps)
        ap, responder = city.aps[k], responders[k]
        community = ap.community.encode()
        columns = [ber.parse_oid(f"1.3.6.1.2.1.31.1.1.1.{c}") for c in (1, 6, 10, 15)]
        if args.v3:
            gets.append((responder, v3_request(ap, ber.GET_REQUEST, i, poll_oids(ap), 0)))
            bulks.append((responder, v3_request(ap, ber.GET_BULK_REQUEST, i, columns, 10)))
            continue
        gets.append((responder, ber.encode_request(community, ber.GET_REQUEST, i, poll_oids(ap))))
        bulks.append(
            (
                responder,
                ber.encode_request(community, ber.GET_BULK_REQUEST, i, columns, max_repetitions=10),
            )
        )

    # First touch builds each AP's weekly traffic tables; time it apart from steady state.
    # v3 requests carry the engine time they were built at: keep the whole run inside
    # USM's 150 s window, or the bench would time not-in-time-window reports instead.
    step = 0.001 if args.v3 else 0.01
    label = "v3 authPriv " if args.v3 else ""
    measure(f"{label}first GET per AP (cold tables)", gets[: len(city.aps)], clock, step)
    measure(f"{label}15-OID GET", gets, clock, step)
    measure(f"{label}GETBULK 4 columns x 10 reps", bulks, clock, step)
    reports = sum(responder.stats.usm_reports for responder in responders)
    assert reports == 0, f"{reports} requests were answered with a USM report"


if __name__ == "__main__":
    main()

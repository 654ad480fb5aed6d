"""The simulator's control API: inject, list and end faults over HTTP on 127.0.0.1.

It runs inside the simulator's own event loop (uvicorn as a task), so handlers touch the
:class:`~simulators.faults.FaultBook` directly, with no locks: the agents read it on the
same thread. It binds loopback only: whoever can reach it can break the simulated city.

    GET    /faults        active and scheduled faults
    POST   /faults        {"kind", "target", "duration_s", optional "period_s", "start_in_s"}
    DELETE /faults/{id}   end a fault now (a power cut ending boots its APs)
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel, Field

from core.errors import SimulatorError
from simulators.city import City
from simulators.faults import KINDS, FaultBook, FaultError, UnknownFault

CONTROL_HOST = "127.0.0.1"
DEFAULT_CONTROL_PORT = 8099


class FaultRequest(BaseModel):
    kind: str = Field(description=f"one of {', '.join(KINDS)}")
    target: str = Field(description="an AP, site, district or uplink id, as the kind requires")
    duration_s: float = Field(description="seconds, > 0")
    period_s: float | None = Field(default=None, description="flapping: seconds per phase")
    start_in_s: float = Field(default=0.0, ge=0, description="delay before the fault starts")


def create_control_app(book: FaultBook, city: City) -> FastAPI:
    app = FastAPI(title="citywifi simulator control", docs_url=None, redoc_url=None)

    @app.get("/faults")
    def list_faults() -> list[dict[str, Any]]:
        now = book.clock()
        return [fault.as_dict(now) for fault in book.listing(now)]

    @app.post("/faults", status_code=201)
    def add_fault(request: FaultRequest) -> dict[str, Any]:
        now = book.clock()
        try:
            fault = book.add(
                request.kind,
                request.target,
                request.duration_s,
                start=now + request.start_in_s,
                period_s=request.period_s,
            )
        except FaultError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
        return fault.as_dict(now)

    @app.delete("/faults/{fault_id}", status_code=204)
    def end_fault(fault_id: str) -> Response:
        try:
            book.end(fault_id)
        except UnknownFault as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc
        return Response(status_code=204)

    @app.get("/city")
    def city_summary() -> dict[str, Any]:
        """Enough to choose targets without reading the inventory file, and the city's
        clock (``now``: it runs shifted or faster with --time-offset/--speed, and fault
        times are on it)."""
        return {
            "now": book.clock(),
            "aps": len(city.aps),
            "districts": {d: len(aps) for d, aps in book.district_aps.items()},
            "sites": {s: len(aps) for s, aps in book.site_aps.items()},
            "uplinks": {u: len(aps) for u, aps in book.uplink_aps.items()},
        }

    return app


class _Server(uvicorn.Server):
    """Leaves signals alone: the simulator (or the CLI around it) owns Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def bind_control_socket(port: int) -> socket.socket:
    """Bind first, so a taken port is a clear SimulatorError rather than uvicorn exiting."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((CONTROL_HOST, port))
        sock.listen(64)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise SimulatorError(
            f"cannot listen on {CONTROL_HOST}:{port} (control API): {reason}"
        ) from exc
    return sock


async def serve_control(
    book: FaultBook, city: City, port: int = DEFAULT_CONTROL_PORT, stop: asyncio.Event | None = None
) -> None:
    """Serve the control API on 127.0.0.1:``port`` until ``stop`` is set (or cancelled)."""
    sock = bind_control_socket(port)
    config = uvicorn.Config(
        create_control_app(book, city), log_level="warning", lifespan="off", access_log=False
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="simulator-control-api")
    try:
        if stop is None:
            await task
            return
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if task in done:
            task.result()
            return
        server.should_exit = True
        await asyncio.wait_for(task, 10)
    finally:
        if not task.done():
            server.should_exit = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        sock.close()

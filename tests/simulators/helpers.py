"""Helpers shared by the simulator's live tests."""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass

import pytest

from simulators.city import City
from simulators.responder import AgentStats


@dataclass
class Running:
    city: City
    stats: AgentStats
    loop: asyncio.AbstractEventLoop
    stop: asyncio.Event


def require_tool(name: str) -> str:
    """net-snmp's tools are required in CI; elsewhere their absence only skips."""
    path = shutil.which(name)
    if path is None:
        reason = f"{name} not installed (Debian package 'snmp')"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path

"""The CLI's tests run in an empty directory with no ``CITYWIFI_*`` setting of the
developer's leaking in: each test states every setting it depends on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("CITYWIFI_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)

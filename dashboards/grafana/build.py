"""The dashboards as Grafana's JSON model: what export writes and push posts."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards.grafana.backends import Backend
from dashboards.grafana.boards import access_point, coverage, network_operations, partner_usage

__all__ = ["DEFAULT_SLA_TARGET_PCT", "build_dashboards", "to_json_model"]

DEFAULT_SLA_TARGET_PCT = 95.0  # core.settings' default; export passes the configured one

_BOARDS: tuple[Callable[[Backend, float], Dashboard], ...] = (
    network_operations,
    access_point,
    coverage,
    partner_usage,
)


def to_json_model(builder: Dashboard) -> dict[str, Any]:
    """The built dashboard as plain JSON data (the SDK's encoder, then parsed back), so
    callers get dicts and lists only, never SDK objects."""
    model: dict[str, Any] = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    return model


def build_dashboards(
    backend: Backend, *, sla_target_pct: float = DEFAULT_SLA_TARGET_PCT
) -> list[dict[str, Any]]:
    """The four dashboards for ``backend`` (network operations, access point, coverage,
    partner usage), each with its stable uid and every panel on the backend's data source.
    ``sla_target_pct`` colours availability (red below it)."""
    models = []
    for board in _BOARDS:
        model = to_json_model(board(backend, sla_target_pct))
        for number, panel in enumerate(model.get("panels", []), start=1):
            panel["id"] = number  # stable ids: Grafana links and panel views use them
        models.append(model)
    return models

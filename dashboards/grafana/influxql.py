"""An InfluxQL query target for grafana-foundation-sdk, which has no InfluxDB builder.

The SDK's panel builders take any ``cog.builder.Builder`` whose ``build()`` returns a
``cog.variants.Dataquery``; a panel keeps the built query and its JSON encoder calls the
query's ``to_json()``. So the target is a builder (:class:`InfluxQLTarget`) producing a
small dataquery (:class:`InfluxQLQuery`) whose JSON is what Grafana's InfluxDB plugin
saves for a query typed in raw mode: ``query`` with ``rawQuery: true``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Self

from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.variants import Dataquery
from grafana_foundation_sdk.models.dashboard import DataSourceRef

__all__ = ["InfluxQLQuery", "InfluxQLTarget", "ResultFormat"]

ResultFormat = Literal["time_series", "table"]


@dataclass
class InfluxQLQuery(Dataquery):
    """One raw InfluxQL query as a panel target."""

    query: str
    ref_id: str = "A"
    result_format: ResultFormat = "time_series"
    alias: str | None = None
    datasource: DataSourceRef | None = None

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "refId": self.ref_id,
            "query": self.query,
            "rawQuery": True,
            "resultFormat": self.result_format,
        }
        if self.alias:
            payload["alias"] = self.alias
        if self.datasource is not None:
            payload["datasource"] = self.datasource.to_json()
        return payload

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        source = data.get("datasource")
        return cls(
            query=str(data["query"]),
            ref_id=str(data.get("refId", "A")),
            result_format="table" if data.get("resultFormat") == "table" else "time_series",
            alias=data.get("alias"),
            datasource=DataSourceRef.from_json(source) if isinstance(source, dict) else None,
        )


class InfluxQLTarget(Builder[InfluxQLQuery]):
    """Builds an :class:`InfluxQLQuery`, in the SDK's fluent style."""

    def __init__(self, query: str) -> None:
        self._internal = InfluxQLQuery(query=query)

    def build(self) -> InfluxQLQuery:
        return self._internal

    def ref_id(self, ref_id: str) -> Self:
        self._internal.ref_id = ref_id
        return self

    def result_format(self, result_format: ResultFormat) -> Self:
        self._internal.result_format = result_format
        return self

    def alias(self, alias: str) -> Self:
        """Series name; ``$tag_<key>`` is replaced by the series' tag value."""
        self._internal.alias = alias
        return self

    def datasource(self, datasource: DataSourceRef) -> Self:
        self._internal.datasource = datasource
        return self

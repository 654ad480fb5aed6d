"""Read district boundaries from a GeoJSON FeatureCollection.

Each feature is one district: ``properties.id`` (or the feature's ``id``) and
``properties.name``, with a Polygon or MultiPolygon geometry. JSON is read through the
YAML composer, which accepts it and keeps the line where every feature starts, so a bad
feature is reported by line like any other inventory row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from inventory.rawdoc import RawInventory, RawRow

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_geojson(path: Path, text: str) -> RawInventory:
    raw = RawInventory(path)
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if not isinstance(root, yaml.MappingNode):
            raw.problem(1, "GeoJSON: expected a FeatureCollection object")
            return raw
        features_node = next(
            (v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "features"),
            None,
        )
        kind = next(
            (
                v.value
                for k, v in root.value
                if isinstance(k, yaml.ScalarNode) and k.value == "type"
            ),
            None,
        )
        if kind != "FeatureCollection" or not isinstance(features_node, yaml.SequenceNode):
            raw.problem(1, "GeoJSON: expected a FeatureCollection with a features list")
            return raw
        rows = []
        for index, node in enumerate(features_node.value):
            line = node.start_mark.line + 1
            feature = loader.construct_object(node, deep=True)
            row = _district(feature)
            if isinstance(row, str):
                raw.problem(line, f"districts[{index}]: {row}")
            rows.append(RawRow(line, row if isinstance(row, dict) else {}))
        raw.sections["districts"] = rows
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raw.problem(mark.line + 1 if mark else 1, f"GeoJSON syntax error: {exc.problem}")
    finally:
        loader.dispose()
    return raw


def _district(feature: Any) -> dict[str, Any] | str:
    """The district row a feature describes, or why it describes none."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return "not a GeoJSON Feature"
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        return "properties must be an object"
    district_id = properties.get("id", feature.get("id"))
    if district_id is None:
        return "a district feature needs an id (properties.id or the feature id)"
    return {"id": district_id, "name": properties.get("name"), "boundary": feature.get("geometry")}

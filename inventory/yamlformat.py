"""Read an inventory YAML file keeping, for every list item, the line it starts on.

PyYAML's composed nodes carry marks; constructing the document from the same node tree
gives both the Python values and the lines without parsing the file twice.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from inventory.rawdoc import SECTIONS, RawInventory, RawRow

# libyaml parses a city-sized file several times faster, with the same marks and the
# same loader interface (it is not a SafeLoader subclass, hence the getattr).
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path, text: str) -> RawInventory:
    raw = RawInventory(path)
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:  # an empty file is an empty inventory
            return raw
        _check_duplicate_keys(raw, root)
        for key_node, value_node in _top_level(raw, root):
            _read_section(raw, loader, key_node, value_node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raw.problem(line, f"YAML syntax error: {exc.problem or exc.context}")
    finally:
        loader.dispose()
    return raw


def _top_level(raw: RawInventory, root: yaml.Node) -> list[tuple[yaml.Node, yaml.Node]]:
    if not isinstance(root, yaml.MappingNode):
        raw.problem(
            root.start_mark.line + 1,
            "the document must be a mapping of sections (" + ", ".join(SECTIONS) + ")",
        )
        return []
    pairs: list[tuple[yaml.Node, yaml.Node]] = []
    for key_node, value_node in root.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if key not in SECTIONS:
            raw.problem(
                key_node.start_mark.line + 1,
                f"unknown top-level key {key!r} (expected one of {', '.join(SECTIONS)})",
            )
            continue
        pairs.append((key_node, value_node))
    return pairs


def _read_section(
    raw: RawInventory, loader: yaml.SafeLoader, key_node: yaml.Node, value_node: yaml.Node
) -> None:
    section = str(key_node.value)
    if isinstance(value_node, yaml.ScalarNode) and value_node.tag == "tag:yaml.org,2002:null":
        raw.sections[section] = []  # `sites:` with nothing under it
        return
    if not isinstance(value_node, yaml.SequenceNode):
        raw.problem(value_node.start_mark.line + 1, f"{section}: expected a list")
        return
    raw.sections[section] = [
        RawRow(item.start_mark.line + 1, loader.construct_object(item, deep=True))
        for item in value_node.value
    ]


def _check_duplicate_keys(raw: RawInventory, node: yaml.Node) -> None:
    """PyYAML silently keeps the last of two equal keys; a typo'd row must not pass."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in current.value:
                if isinstance(key_node, yaml.ScalarNode):
                    if key_node.value in seen:
                        raw.problem(
                            key_node.start_mark.line + 1,
                            f"duplicate key {key_node.value!r} in a mapping",
                        )
                    seen.add(key_node.value)
                stack.append(value_node)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)

"""The one shard parser: ``i/n`` with 0 <= i < n, used by the setting and the collector."""

from __future__ import annotations

import pytest

from core.errors import ConfigError
from core.settings import Settings, parse_shard


def test_parse_shard() -> None:
    assert parse_shard("0/1") == (0, 1)
    assert parse_shard("2/3") == (2, 3)
    for bad in ("3/3", "1/0", "a/b", "1", "-1/2", "1/2/3", ""):
        with pytest.raises(ValueError, match="shard must"):
            parse_shard(bad)


def test_the_setting_is_checked_by_the_same_parser() -> None:
    assert Settings(shard="1/4").shard_index_count == (1, 4)
    with pytest.raises((ValueError, ConfigError), match="shard must"):
        Settings(shard="4/4")

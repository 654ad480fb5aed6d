"""The port's sample rules, written once in timeseries.samples: every backend refuses the
same samples with the same words, and drops the same non-finite values."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest

from core.errors import StoreRejected
from timeseries.embedded import EmbeddedStore
from timeseries.lines import to_lines
from timeseries.port import Sample
from timeseries.samples import check_sample

T0 = 1_700_000_000.0

BAD = [
    (Sample("", {"ap": "a"}, {"n": 1}, T0), "no measurement name"),
    (Sample("ap", [("ap", "a")], {"n": 1}, T0), "not a mapping"),  # type: ignore[arg-type]
    (Sample("ap", {"ap": 1}, {"n": 1}, T0), "tag that is not a string"),  # type: ignore[dict-item]
    (Sample("ap", {"ap": ["a"]}, {"n": 1}, T0), "tag that is not a string"),  # type: ignore[dict-item]
    (Sample("ap", {"site": "s"}, {"n": 1}, T0), "has no 'ap' tag"),
    (Sample("ap", {"ap": "a"}, {"n": 1}, math.nan), "non-finite time"),
    (Sample("ap", {"ap": "a"}, {"n": 1}, True), "non-finite time"),
    (Sample("ap", {"ap": "a"}, {"n": 1}, "1700000000"), "non-finite time"),  # type: ignore[arg-type]
    (Sample("ap", {"ap": "a"}, {"": 1}, T0), "field without a name"),
    (Sample("ap", {"ap": "a"}, {"n": "3"}, T0), "is not a number"),  # type: ignore[dict-item]
    (Sample("probe", {}, {"n": None}, T0), "is not a number"),  # type: ignore[dict-item]
]


@pytest.mark.parametrize(("sample", "words"), BAD)
def test_every_backend_refuses_a_bad_sample_in_the_same_words(
    sample: Sample, words: str, tmp_path: Path
) -> None:
    good = Sample("ap", {"ap": "ok"}, {"n": 1.0}, T0)
    with pytest.raises(StoreRejected, match=words) as rules:
        check_sample(1, sample, [])
    assert str(rules.value).startswith("sample 1 ") and repr(sample) in str(rules.value)
    with pytest.raises(StoreRejected) as lines:
        to_lines([good, sample])
    with EmbeddedStore(tmp_path) as store, pytest.raises(StoreRejected) as embedded:
        store.write([good, sample])
    assert str(lines.value) == str(embedded.value) == str(rules.value)


def test_values_become_floats_and_non_finite_ones_are_dropped_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sample = Sample("ap", {"ap": "a"}, {"up": True, "n": 2, "x": math.inf, "y": math.nan}, T0)
    dropped: list[str] = []
    assert check_sample(0, sample, dropped) == ({"ap": "a"}, T0, {"up": 1.0, "n": 2.0})
    assert [d.split(" in ")[0] for d in dropped] == ["x=inf", "y=nan"]
    with caplog.at_level(logging.WARNING, logger="timeseries"):
        assert to_lines([sample]) == ["ap,ap=a n=2,up=1 1700000000000"]
        with EmbeddedStore(tmp_path) as store:
            store.write([sample])
            assert dict(store.latest()["a"].values) == {"up": 1.0, "n": 2.0}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all(
        w.startswith("dropped 2 non-finite field value(s) from a batch of 1") for w in warnings
    )

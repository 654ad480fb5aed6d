from __future__ import annotations

from collections.abc import Callable

import pytest

from simulators import ber
from simulators.mib import MibBuilder, MibView, dynamic_unsigned, integer, octets

SYS = (1, 3, 6, 1, 2, 1, 1)
IF_DESCR = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)
IF_IN = (1, 3, 6, 1, 2, 1, 2, 2, 1, 10)


def _octets(index: int) -> Callable[[float], int]:
    return lambda now: index * int(now)


def _view() -> MibView:
    mib = MibBuilder()
    mib.scalar((*SYS, 1), octets("RouterOS cAP ac"))
    mib.scalar((*SYS, 3), dynamic_unsigned(ber.TIMETICKS, lambda now: int(now * 100)))
    for i in (1, 2, 3):
        mib.cell(IF_DESCR, (i,), octets(f"if{i}"))
        mib.cell(IF_IN, (i,), dynamic_unsigned(ber.COUNTER32, _octets(i)))
    return mib.build()


def oid(*arcs: int) -> bytes:
    return ber.encode_oid(arcs)


def decoded(value_tlv: bytes) -> ber.Value:
    return ber.decode_value(value_tlv[0], value_tlv[2:])


def test_get_exact_and_dynamic() -> None:
    view = _view()
    assert decoded(view.get(oid(*SYS, 1, 0), 0)) == (ber.OCTET_STRING, b"RouterOS cAP ac")
    assert decoded(view.get(oid(*SYS, 3, 0), 12.5)) == (ber.TIMETICKS, 1250)
    assert decoded(view.get(oid(*IF_IN, 3), 10)) == (ber.COUNTER32, 30)


@pytest.mark.parametrize(
    ("arcs", "exception"),
    [
        ((*IF_DESCR, 4), ber.NO_SUCH_INSTANCE_TLV),  # known column, no such row
        ((*SYS, 1, 1), ber.NO_SUCH_INSTANCE_TLV),  # known scalar, wrong instance
        ((*SYS, 1), ber.NO_SUCH_OBJECT_TLV),  # the object itself is not an instance
        ((*SYS, 2, 0), ber.NO_SUCH_OBJECT_TLV),  # no such object type
        ((1, 3, 6, 1, 4, 1, 9, 9), ber.NO_SUCH_OBJECT_TLV),
        ((*IF_DESCR,), ber.NO_SUCH_OBJECT_TLV),
    ],
)
def test_get_exceptions(arcs: tuple[int, ...], exception: bytes) -> None:
    assert _view().get(oid(*arcs), 0) == exception


def test_get_next_walks_in_order_and_ends_with_end_of_mib_view() -> None:
    view = _view()
    walked, current = [], oid(1, 3)
    for _ in range(len(view) + 2):
        name, value = view.get_next(current, 5)
        if value == ber.END_OF_MIB_VIEW_TLV:
            assert name == current
            break
        walked.append(ber.decode_oid_tlv(name))
        current = name
    assert walked == list(view.oids)
    assert walked == sorted(walked)
    assert len(walked) == 2 + 3 + 3


def test_get_next_from_a_name_between_instances() -> None:
    view = _view()
    assert view.get_next(oid(*SYS, 2), 0)[0] == oid(*SYS, 3, 0)
    assert view.get_next(oid(*IF_DESCR, 2, 7), 0)[0] == oid(*IF_DESCR, 3)
    assert view.get_next(oid(*IF_DESCR), 0)[0] == oid(*IF_DESCR, 1)
    assert view.get_next(oid(2, 1), 0) == (oid(2, 1), ber.END_OF_MIB_VIEW_TLV)


def test_get_bulk_non_repeaters_and_repetitions() -> None:
    view = _view()
    out = view.get_bulk([oid(*SYS, 1), oid(*IF_DESCR), oid(*IF_IN)], 1, 2, 0, 10_000)
    names = [ber.decode_oid_tlv(name) for name, _ in out]
    assert names == [
        (*SYS, 1, 0),
        (*IF_DESCR, 1),
        (*IF_IN, 1),
        (*IF_DESCR, 2),
        (*IF_IN, 2),
    ]


def test_get_bulk_stops_after_every_repeater_reaches_the_end() -> None:
    view = _view()
    out = view.get_bulk([oid(*IF_IN, 2)], 0, 50, 0, 10_000)
    assert [ber.decode_oid_tlv(name) for name, _ in out] == [(*IF_IN, 3), (*IF_IN, 3)]
    assert out[-1][1] == ber.END_OF_MIB_VIEW_TLV


def test_get_bulk_columns_run_past_their_table_into_the_next() -> None:
    out = _view().get_bulk([oid(*IF_DESCR, 3)], 0, 2, 0, 10_000)
    assert [ber.decode_oid_tlv(name) for name, _ in out] == [(*IF_IN, 1), (*IF_IN, 2)]


def test_get_bulk_negative_and_oversized_arguments() -> None:
    view = _view()
    assert view.get_bulk([oid(1, 3)], -3, -1, 0, 10_000) == []
    assert len(view.get_bulk([oid(1, 3)], 5, 0, 0, 10_000)) == 1


def test_get_bulk_respects_the_byte_budget() -> None:
    view = _view()
    full = view.get_bulk([oid(1, 3)], 0, 100, 0, 10_000)
    small = view.get_bulk([oid(1, 3)], 0, 100, 0, 60)
    assert 0 < len(small) < len(full)
    assert sum(ber.varbind_size(*vb) for vb in small) <= 60
    assert small == full[: len(small)]


def test_duplicate_oids_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        MibView([((1, 3, 1), integer(1)), ((1, 3, 1), integer(2))], [])

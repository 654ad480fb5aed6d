"""The NAS directory: which AP a request comes from, with which secret, and when the
snapshot is read again."""

from __future__ import annotations

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from accounting.nas import REFRESH_S, UNKNOWN_REFRESH_S, NasDirectory, address_key
from inventory.models import AccessPoint
from tests.fixtures.radius import SECRET, T0
from tests.fixtures.secret_keys import fixed_box


def test_found_by_address_else_by_id_else_by_name(acct_engine: Engine) -> None:
    directory = NasDirectory(acct_engine, fixed_box()).load(T0)
    nas = directory.find("127.1.5.1", None)
    assert nas is not None
    assert (nas.ap_id, nas.site_id, nas.partner_id) == ("ap-1", "s-park", "p-bank")
    assert nas.secret == SECRET.encode()
    assert directory.find(None, "ap-2") == directory.find(None, "pasar-2")
    assert directory.find("127.9.9.9", "pasar-2") == directory.find("127.1.5.2", None)
    assert directory.find("127.9.9.9", "nobody") is None
    assert directory.find(None, None) is None


def test_ambiguous_names_and_addresses_identify_nobody(acct_engine: Engine) -> None:
    directory = NasDirectory(acct_engine, fixed_box()).load(T0)
    assert directory.find(None, "twin") is None  # ap-4 and ap-5 share the name
    assert directory.find("127.1.5.9", None) is None  # ap-6 and ap-7 share the address
    shared = directory.find("127.1.5.9", "shared-b")
    assert shared is not None and shared.ap_id == "ap-7"
    twin = directory.find("127.1.5.5", None)  # its address is its own
    assert twin is not None and twin.ap_id == "ap-5"


def test_a_host_name_is_never_resolved(acct_engine: Engine) -> None:
    directory = NasDirectory(acct_engine, fixed_box()).load(T0)
    assert address_key("ap4.city.example") is None
    nas = directory.find("10.0.0.4", "ap-4")
    assert nas is not None and nas.ap_id == "ap-4"


def test_a_profile_without_secret_gives_a_nas_without_one(acct_engine: Engine) -> None:
    nas = NasDirectory(acct_engine, fixed_box()).load(T0).find("127.1.5.3", None)
    assert nas is not None and nas.secret is None


def test_addresses_compare_in_canonical_form(acct_engine: Engine) -> None:
    with Session(acct_engine) as session, session.begin():
        session.execute(
            update(AccessPoint).where(AccessPoint.id == "ap-2").values(host="2001:DB8::0:5")
        )
    directory = NasDirectory(acct_engine, fixed_box()).load(T0)
    nas = directory.find("2001:db8::5", None)
    assert nas is not None and nas.ap_id == "ap-2"


def test_reload_every_refresh_and_soon_after_a_stranger(acct_engine: Engine) -> None:
    nas = NasDirectory(acct_engine, fixed_box())
    assert nas.due(T0)  # never loaded
    nas.load(T0)
    assert not nas.due(T0 + 1)
    assert nas.find("127.9.9.9", None) is None
    assert nas.due(T0 + 1)  # a stranger spoke: read again now ...
    assert not nas.due(T0 + 2)  # ... but at most once per UNKNOWN_REFRESH_S
    assert nas.due(T0 + 1 + UNKNOWN_REFRESH_S)
    nas.load(T0 + 12)
    assert not nas.due(T0 + 13)
    assert nas.due(T0 + 12 + REFRESH_S)


def test_a_new_ap_is_known_after_a_reload(acct_engine: Engine) -> None:
    nas = NasDirectory(acct_engine, fixed_box())
    nas.load(T0)
    assert nas.find("127.1.5.77", None) is None
    with Session(acct_engine) as session, session.begin():
        session.execute(
            update(AccessPoint).where(AccessPoint.id == "ap-1").values(host="127.1.5.77")
        )
    nas.load(T0 + 10)
    found = nas.find("127.1.5.77", None)
    assert found is not None and found.ap_id == "ap-1"

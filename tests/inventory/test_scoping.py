"""inventory.scoping: a partner sees its own sites and APs, nothing else, on both backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core.access import Scope
from inventory.db import transaction
from inventory.models import AccessPoint, CredentialProfile, Partner, Site
from inventory.scoping import get_ap, get_site, scoped_aps, scoped_sites, site_conditions

CITY, BANK, TELCO, NOBODY = Scope(), Scope("p-bank"), Scope("p-telco"), Scope("p-none")

# site id -> partner (None: the city's own); APs: two per site, "<site>-a", "<site>-b".
SITES: dict[str, str | None] = {
    "s-bank-1": "p-bank",
    "s-bank-2": "p-bank",
    "s-telco": "p-telco",
    "s-city": None,
}


@pytest.fixture
def session(any_engine: Engine) -> Iterator[Session]:
    """Three partners (one without sites), four sites (one without a partner), eight APs."""
    with transaction(any_engine) as s:
        s.add_all(
            [
                Partner(id="p-bank", name="Bank"),
                Partner(id="p-telco", name="Telco"),
                Partner(id="p-none", name="No sites"),
                CredentialProfile(id="cred", snmp_version="2c"),
            ]
        )
        s.flush()
        for site_id, partner in SITES.items():
            s.add(
                Site(
                    id=site_id, name=site_id, lat=0.0, lon=0.0, partner_id=partner,
                    kind="park", coverage_radius_m=50.0, status="active",
                )
            )  # fmt: skip
        s.flush()
        for site_id in SITES:
            for suffix in ("a", "b"):
                s.add(
                    AccessPoint(
                        id=f"{site_id}-{suffix}", site_id=site_id, name="x", host="127.1.0.1",
                        snmp_port=161, ssh_port=22, profile="auto", credential_id="cred",
                        enabled=True,
                    )
                )  # fmt: skip
    with Session(any_engine) as s:
        yield s


def site_ids(session: Session, scope: Scope) -> list[str]:
    return list(session.scalars(scoped_sites(scope).with_only_columns(Site.id).order_by(Site.id)))


def ap_ids(session: Session, scope: Scope) -> list[str]:
    query = scoped_aps(scope).with_only_columns(AccessPoint.id).order_by(AccessPoint.id)
    return list(session.scalars(query))


def test_whole_city_has_no_condition_and_sees_everything(session: Session) -> None:
    assert site_conditions(CITY) == []
    assert site_ids(session, CITY) == sorted(SITES)
    assert len(ap_ids(session, CITY)) == 8


@pytest.mark.parametrize(
    ("scope", "sites"),
    [(BANK, ["s-bank-1", "s-bank-2"]), (TELCO, ["s-telco"]), (NOBODY, [])],
)
def test_a_partner_sees_only_its_own_sites_and_their_aps(
    session: Session, scope: Scope, sites: list[str]
) -> None:
    assert site_ids(session, scope) == sites
    assert ap_ids(session, scope) == [f"{s}-{x}" for s in sites for x in ("a", "b")]


def test_a_site_without_partner_is_no_partners(session: Session) -> None:
    for scope in (BANK, TELCO, NOBODY):
        assert "s-city" not in site_ids(session, scope)
        assert get_site(session, scope, "s-city") is None
        assert get_ap(session, scope, "s-city-a") is None


def test_single_rows_outside_the_scope_are_like_unknown_ids(session: Session) -> None:
    bank_site = get_site(session, BANK, "s-bank-1")
    assert bank_site is not None and bank_site.partner_id == "p-bank"
    bank_ap = get_ap(session, BANK, "s-bank-2-b")
    assert bank_ap is not None and bank_ap.site_id == "s-bank-2"
    assert get_site(session, TELCO, "s-bank-1") is None
    assert get_ap(session, TELCO, "s-bank-2-b") is None
    assert get_site(session, BANK, "s-nowhere") is None
    assert get_ap(session, BANK, "ap-nowhere") is None
    city_ap = get_ap(session, CITY, "s-city-b")
    assert city_ap is not None and city_ap.site_id == "s-city"


def test_site_conditions_scope_a_query_with_its_own_columns(session: Session) -> None:
    """What the status route does: its own columns, Site joined, the scope's conditions."""

    def count(scope: Scope) -> int:
        query = (
            select(func.count())
            .select_from(AccessPoint)
            .join(Site, AccessPoint.site_id == Site.id)
            .where(*site_conditions(scope))
        )
        return session.scalar(query) or 0

    assert (count(CITY), count(BANK), count(TELCO), count(NOBODY)) == (8, 4, 2, 0)


def test_user_filters_on_a_scoped_query_only_narrow(session: Session) -> None:
    """A partner asking for another partner's sites gets nothing, not those sites."""
    asked = scoped_sites(BANK).where(Site.partner_id == "p-telco")
    assert list(session.scalars(asked)) == []

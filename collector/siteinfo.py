"""The site info series: the names and coordinates behind the ids of the ``ap`` samples.

Why a separate series: every ``ap`` sample carries ids only (``site``, ``district``,
``partner``), which keeps the hot series small and stable when a site is renamed. A
dashboard that wants names or a map joins them in from one ``site`` sample per site,
written once per poll interval (the Prometheus "info metric" pattern; the vocabulary is
in :mod:`timeseries.vocabulary`). The cost is one sample per site per interval, against
one per AP per interval for the ``ap`` samples.

The rows come from the same inventory tables the AP targets are read from
(:func:`inventory.queries.enabled_aps`); only sites with an AP this collector polls are
written, so shards write their own sites (a site split over shards is written by each,
the same series with the same value).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from inventory.models import District, Partner, Site
from timeseries import Sample
from timeseries.vocabulary import SITE_INFO_FIELD, SITE_MEASUREMENT

__all__ = [
    "SITE_INFO_MIN_INTERVAL_S",
    "SiteInfo",
    "SiteInfoPacer",
    "site_info_sample",
    "site_infos",
]

# At most one round of site samples per this many seconds, whatever the poll interval:
# names and coordinates change rarely, and dashboards look back a few minutes for them.
SITE_INFO_MIN_INTERVAL_S = 60.0

# Characters a tag value cannot carry through line protocol (a line break ends the line,
# a trailing backslash would escape the separator): a name is written without them
# rather than have the store reject the whole batch.
_BREAKS = str.maketrans({"\n": " ", "\r": " "})


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """What a dashboard shows for one site id."""

    site: str
    site_name: str
    district: str  # "" when the site has no district
    district_name: str
    partner: str  # "" for an unsponsored site
    partner_name: str
    kind: str
    lat: float
    lon: float


def site_infos(session: Session, site_ids: Collection[str] | None = None) -> list[SiteInfo]:
    """The sites (all that are not retired, or those of ``site_ids``), ordered by id,
    with their district's and partner's names."""
    district = aliased(District)
    partner = aliased(Partner)
    query = (
        select(
            Site.id,
            Site.name,
            Site.district_id,
            district.name,
            Site.partner_id,
            partner.name,
            Site.kind,
            Site.lat,
            Site.lon,
        )
        .outerjoin(district, Site.district_id == district.id)
        .outerjoin(partner, Site.partner_id == partner.id)
        .where(Site.status != "retired")
        .order_by(Site.id)
    )
    wanted = None if site_ids is None else set(site_ids)
    return [
        SiteInfo(
            site=row[0],
            site_name=row[1],
            district=row[2] or "",
            district_name=row[3] or "",
            partner=row[4] or "",
            partner_name=row[5] or "",
            kind=row[6],
            lat=row[7],
            lon=row[8],
        )
        for row in session.execute(query)
        if wanted is None or row[0] in wanted
    ]


def _tag(text: str) -> str:
    return text.translate(_BREAKS).rstrip("\\").strip()


def site_info_sample(info: SiteInfo, ts: float) -> Sample:
    """The site's ``site`` sample: its names and coordinates as tags, ``info`` = 1.

    Coordinates are written with six decimals (about 0.1 m), so the same place is always
    the same label value and a series never splits over float formatting."""
    return Sample(
        measurement=SITE_MEASUREMENT,
        tags={
            "site": info.site,
            "site_name": _tag(info.site_name),
            "district": info.district,
            "district_name": _tag(info.district_name),
            "partner": info.partner,
            "partner_name": _tag(info.partner_name),
            "kind": _tag(info.kind),
            "lat": f"{info.lat:.6f}",
            "lon": f"{info.lon:.6f}",
        },
        fields={SITE_INFO_FIELD: 1.0},
        ts=ts,
    )


class SiteInfoPacer:
    """Says when the next round of site samples is due: at most one per
    ``min_interval_s``, the first at once."""

    def __init__(self, min_interval_s: float = SITE_INFO_MIN_INTERVAL_S) -> None:
        self.min_interval_s = min_interval_s
        self._last: float | None = None

    def due(self, now: float) -> bool:
        """True (and the round counted as written at ``now``) if a round is due."""
        if self._last is not None and now - self._last < self.min_interval_s:
            return False
        self._last = now
        return True

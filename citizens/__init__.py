"""Citizens' problem reports (issue 16): matching a report to the hotspot it is about,
filing it into that hotspot's incident, and keeping what a citizen sends safe (photos
re-encoded without EXIF, proof of work instead of a third-party captcha, phone numbers
normalised before they are sealed).

The public surface; the modules hold the rest:

- :func:`file_report` (:class:`NewReport` in, :class:`FiledReport` out) — :mod:`.filing`
- :func:`nearest_site`, :func:`picked_site` — :mod:`.matching`
- :func:`sanitize` (:class:`Photo`) — :mod:`.photos`
- :func:`normalise_phone` — :mod:`.phone`
- :func:`parse_reports`, :func:`import_reports` — :mod:`.importing`
- proof of work: :mod:`.proof`
"""

from citizens.filing import FiledReport, NewReport, file_report
from citizens.importing import import_reports, parse_reports
from citizens.matching import SiteMatch, nearest_site, picked_site
from citizens.phone import normalise_phone
from citizens.photos import Photo, sanitize

__all__ = [
    "FiledReport",
    "NewReport",
    "Photo",
    "SiteMatch",
    "file_report",
    "import_reports",
    "nearest_site",
    "normalise_phone",
    "parse_reports",
    "picked_site",
    "sanitize",
]

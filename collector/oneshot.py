"""Poll one device, once, outside the collector: ``citywifi poll HOST``.

What an engineer runs when adding a hotspot: does it answer, which profile does it get,
and which metrics (of the shared vocabulary) come out. It is the collector's own
:func:`~collector.poll.poll_ap` over the real scraper, so what it prints is what the
collector would write; nothing is stored.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from collector import profiles
from collector.poll import PollResult, poll_ap
from collector.snmp import NetworkScraper, Scraper, SnmpTarget
from core.errors import PollError
from timeseries.vocabulary import AP_METRICS


@dataclass(frozen=True, slots=True)
class OneShot:
    profile: str
    metrics: dict[str, float]  # in vocabulary order
    errors: int
    sys_descr: str | None

    def as_json(self) -> str:
        return json.dumps(
            {"profile": self.profile, "metrics": self.metrics, "errors": self.errors}, indent=2
        )

    def as_table(self) -> str:
        lines = [f"profile  {self.profile}"]
        if self.sys_descr:
            lines.append(f"sysDescr {self.sys_descr}")
        width = max((len(name) for name in self.metrics), default=0)
        for name, value in self.metrics.items():
            meta = AP_METRICS.get(name)
            unit = meta.unit if meta and meta.unit != "1" else ""
            shown = f"{value:.0f}" if value == int(value) else f"{value:.2f}"
            lines.append(f"  {name:<{width}}  {shown:>16} {unit}".rstrip())
        if self.errors:
            lines.append(f"{self.errors} metric(s) absent: the device answered wrongly or not")
        return "\n".join(lines)


def _ordered(fields: dict[str, float]) -> dict[str, float]:
    known = [name for name in AP_METRICS if name in fields]
    return {name: fields[name] for name in [*known, *sorted(set(fields) - set(known))]}


async def poll_once(
    target: SnmpTarget,
    profile: str = profiles.AUTO,
    rate_interval_s: float = 0.0,
    scraper: Scraper | None = None,
) -> OneShot:
    """One poll (two, ``rate_interval_s`` apart, for rates). Raises PollError when the
    device does not answer."""
    own = scraper is None
    scraper = scraper or NetworkScraper()
    try:
        chosen = None if profile == profiles.AUTO else profiles.get(profile)
        result = await poll_ap(scraper, target, chosen, None)
        descr = result.sys_descr
        if result.ok and rate_interval_s > 0:
            await asyncio.sleep(rate_interval_s)
            again = profiles.get(result.profile)
            result = await poll_ap(scraper, target, again, result.reading)
    finally:
        if own:
            scraper.close()
    return _shot(result, descr)


def _shot(result: PollResult, descr: str | None) -> OneShot:
    if not result.ok:
        raise PollError(result.error or f"no answer from {result.profile}", result.cause)
    return OneShot(result.profile, _ordered(result.fields), result.errors, descr)

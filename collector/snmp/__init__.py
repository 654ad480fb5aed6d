"""SNMP for the collector: the scraper interface, a fake, and the network scraper.

Modules, each holding one thing: :mod:`.types` (the interface and its values),
:mod:`.target` (credentials → target, refused when they cannot work), :mod:`.fake` (canned
devices), :mod:`.ber` (the v2c codec), :mod:`.v2c` (the codec's asyncio UDP client),
:mod:`.pysnmp_stacks` (pysnmp's v1arch and v3arch), :mod:`.network` (the scraper over
them), :mod:`.sockets` and :mod:`.causes` (what the transports share). Code above imports
the names below from here; only tests and benchmarks reach into the modules.
"""

from collector.snmp.fake import FakeScraper
from collector.snmp.network import NetworkScraper
from collector.snmp.target import build_target
from collector.snmp.types import Missing, Scraper, SnmpTarget, Value, VarBinds, oid_in

__all__ = [
    "FakeScraper",
    "Missing",
    "NetworkScraper",
    "Scraper",
    "SnmpTarget",
    "Value",
    "VarBinds",
    "build_target",
    "oid_in",
]

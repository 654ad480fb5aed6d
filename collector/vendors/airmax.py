"""Ubiquiti airMAX (airOS) radios: UBNT-AirMAX-MIB, recognised by sysObjectID.

airOS has no ifXTable: the generic poller falls back to 32-bit ifIn/OutOctets, which wrap
every few hours on a busy link; collector.derive adds 2^32 across such a wrap.
"""

from collector.profiles import Profile

PROFILE = Profile(
    name="airmax",
    sys_object_ids=("1.3.6.1.4.1.41112.1.4",),
    # ubntWlStatStaCount (Gauge32), one row per radio of ubntWlStatTable
    client_columns=("1.3.6.1.4.1.41112.1.4.5.1.15",),
    description="Ubiquiti airMAX (airOS) radio, UBNT-AirMAX-MIB",
)

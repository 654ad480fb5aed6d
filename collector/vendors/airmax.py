"""Ubiquiti airMAX (airOS) radios: UBNT-AirMAX-MIB, recognised by sysObjectID.

airOS has no ifXTable, so the profile asks the 32-bit ifIn/OutOctets at once (no
ifHC* attempt and fallback walk on every poll); they wrap every few hours on a busy link
and collector.derive adds 2^32 across such a wrap. ubntWlStatTable has one row per radio:
stations, signal and noise floor (negative dBm), CCQ; the radio's frequency, for the band,
is in ubntRadioTable under the same index. Wireless bytes: the athN VAP interfaces only
(wifiN, also ifType 71, is the radio carrying the same traffic plus overhead).
airOS has no HOST-RESOURCES.
"""

from collector.profiles import Bands, ColumnSpec, InterfaceSelect, Profile, interface_errors

WL_STAT = "1.3.6.1.4.1.41112.1.4.5.1"  # ubntWlStatTable entry
RADIO = "1.3.6.1.4.1.41112.1.4.1.1"  # ubntRadioTable entry

PROFILE = Profile(
    name="airmax",
    sys_object_ids=("1.3.6.1.4.1.41112.1.4",),
    metrics={
        **interface_errors(),
        # ubntWlStatStaCount (Gauge32); band from ubntRadioFreq (MHz)
        "clients": ColumnSpec(f"{WL_STAT}.15", bands=Bands(f"{RADIO}.4")),
        "signal_dbm": ColumnSpec(f"{WL_STAT}.5", reduce="mean"),  # ubntWlStatSignal
        "noise_dbm": ColumnSpec(f"{WL_STAT}.8", reduce="max"),  # ubntWlStatNoiseFloor
        "ccq_pct": ColumnSpec(f"{WL_STAT}.7", reduce="min"),  # ubntWlStatCcq
    },
    wlan_interfaces=InterfaceSelect(descr=r"^ath\d"),
    if_counters="32",
    description="Ubiquiti airMAX (airOS) radio, UBNT-AirMAX-MIB",
)

"""Ubiquiti UniFi APs: net-snmp's sysObjectID, so recognised by sysDescr.

unifiVapTable has one row per VAP (an SSID on a radio): stations, the radio ("ng" 2.4 GHz,
"na" 5 GHz, "6e" 6 GHz) and Counter64 Rx/TxBytes. Wireless bytes are the VAP counters
summed: IF-MIB lists both the radios (wifiN) and the VAPs (athN) as ifType 71, so summing
interfaces would count every byte twice. CPU and memory: HOST-RESOURCES (net-snmp).
"""

from collector.profiles import Bands, ColumnSpec, Profile, host_resources, interface_errors

UNIFI_VAP = "1.3.6.1.4.1.41112.1.6.1.2.1"  # unifiVapTable entry

PROFILE = Profile(
    name="unifi",
    sys_descr_patterns=(r"^(UAP|U6|U7|UAL|UAC)[-\w]*\s", r"(?i)\bunifi\b"),
    metrics={
        **interface_errors(),
        **host_resources(if_missing="error"),
        # unifiVapNumStations; band from unifiVapRadio
        "clients": ColumnSpec(
            f"{UNIFI_VAP}.8",
            bands=Bands(f"{UNIFI_VAP}.9", labels={"ng": "2g4", "na": "5g", "6e": "6g"}),
        ),
        "wlan_rx_bytes": ColumnSpec(f"{UNIFI_VAP}.10", width=64),  # unifiVapRxBytes
        "wlan_tx_bytes": ColumnSpec(f"{UNIFI_VAP}.16", width=64),  # unifiVapTxBytes
    },
    description="Ubiquiti UniFi AP (UBNT-UniFi-MIB VAP table)",
)

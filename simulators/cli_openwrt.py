"""An OpenWrt (BusyBox ash) shell with the few commands the collector runs on an AP.

As with RouterOS, answers are pure functions of (device, time): ``iwinfo <dev> assoclist``
lists exactly :meth:`Device.clients` stations per radio (wlan0 = radio 0, wlan1 =
radio 1), so the count a collector parses equals the SNMP client count at that instant.
Formats follow OpenWrt 23.05 (``ubus`` JSON indented with tabs, iwinfo's station blocks).
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from functools import cache

from simulators.device import Device

RELEASE = "OpenWrt 23.05.2, r23630-842932a63d"
KERNEL = "5.15.137"
KERNEL_BUILD = "#0 SMP Sun Nov 12 18:48:00 2023"

BANNER = (
    "\r\n\r\n"
    "BusyBox v1.36.1 (2023-11-14 20:49:37 UTC) built-in shell (ash)\r\n"
    "\r\n"
    "  _______                     ________        __\r\n"
    " |       |.-----.-----.-----.|  |  |  |.----.|  |_\r\n"
    " |   -   ||  _  |  -__|     ||  |  |  ||   _||   _|\r\n"
    " |_______||   __|_____|__|__||________||__|  |____|\r\n"
    "          |__| W I R E L E S S   F R E E D O M\r\n"
    " -----------------------------------------------------\r\n"
    f" {RELEASE}\r\n"
    " -----------------------------------------------------\r\n"
)

NOISE_DBM = -95


@dataclass(frozen=True)
class Board:
    """Fixed facts of one AP, seeded."""

    total_memory: int
    mac: bytes  # base MAC: wlan0 is base + 1, wlan1 base + 2
    channels: tuple[int, int]


@cache
def board(seed: str) -> Board:
    rng = random.Random(f"openwrt:{seed}")
    mac = bytes((0x94, 0x83, 0xC4, rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    return Board(
        total_memory=rng.choice((128, 256)) * 1024 * 1024 - rng.randrange(4096) * 4096,
        mac=mac,
        channels=(rng.choice((1, 6, 11)), rng.choice((36, 44, 149, 157))),
    )


def _digest(*parts: object) -> bytes:
    return hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=16).digest()


def _mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02X}" for b in raw)


def _radio_mac(base: bytes, radio: int) -> str:
    value = (int.from_bytes(base, "big") + radio + 1) & (2**48 - 1)
    return _mac_text(value.to_bytes(6, "big"))


def uptime_s(device: Device, now: float) -> float:
    return device.uptime_cs(now) / 100


def system_info(device: Device, now: float) -> str:
    """``ubus call system info``: tab-indented JSON like ubus prints it."""
    up = int(uptime_s(device, now))
    load = device.cpu_load(now) / 100
    # The same RAM split SNMP's hrStorage and UCD memory objects show at this instant.
    total = device.memory_bytes or board(device.seed).total_memory
    memory = device.memory(now, total, cached_permille=110)
    tmp_total = total // 2048
    info = {
        "localtime": int(now) + device.utc_offset_s,
        "uptime": up,
        "load": [int(load * 65536), int(load * 0.8 * 65536), int(load * 0.7 * 65536)],
        "memory": {
            "total": total,
            "free": memory.free,
            "shared": 94208,
            "buffered": memory.buffers,
            "available": memory.available,
            "cached": memory.cached,
        },
        "root": {"total": 4352, "free": 3476, "used": 876, "avail": 3476},
        "tmp": {"total": tmp_total, "free": tmp_total - 96, "used": 96, "avail": tmp_total - 96},
        "swap": {"total": 0, "free": 0},
    }
    return json.dumps(info, indent="\t")


def proc_uptime(device: Device, now: float) -> str:
    """``/proc/uptime``: seconds up and seconds idle (one core), two decimals each."""
    up = uptime_s(device, now)
    idle = up * (1 - device.cpu_load(now) / 100)
    return f"{up:.2f} {idle:.2f}"


def _radio(device: Device, interface: str) -> int | None:
    if interface.startswith("wlan") and interface[4:].isdigit():
        radio = int(interface[4:])
        if radio < device.radios:
            return radio
    return None


def assoclist(device: Device, radio: int, now: float) -> str:
    """One station block per associated client, as ``iwinfo wlanN assoclist`` prints."""
    count = device.clients(radio, now)
    if not count:
        return "No station connected"
    slot = int(now // 900)
    up_s = max(1, int(uptime_s(device, now)))
    blocks = []
    for n in range(count):
        # A station keeps its MAC for the whole 15-minute slot; signals vary per station.
        d = _digest(device.seed, radio, slot, n)
        mac = bytes((d[0] & 0xFC | 0x02, *d[1:6]))  # locally administered, as phones use
        signal = -40 - d[6] % 45
        inactive = d[7] * 40 % 9000
        rates = (72.2, 65.0, 58.5, 52.0, 39.0, 26.0) if radio == 0 else (433.3, 390.0, 292.5)
        rx_rate, tx_rate = rates[d[8] % len(rates)], rates[d[9] % len(rates)]
        if radio == 0:
            rx = f"{rx_rate:.1f} MBit/s, MCS {d[8] % 8}, 20MHz"
            tx = f"{tx_rate:.1f} MBit/s, MCS {d[9] % 8}, 20MHz, short GI"
        else:
            rx = f"{rx_rate:.1f} MBit/s, VHT-MCS {d[8] % 10}, 80MHz, VHT-NSS 1"
            tx = f"{tx_rate:.1f} MBit/s, VHT-MCS {d[9] % 10}, 80MHz, short GI, VHT-NSS 1"
        connected = min(up_s, 60 + int.from_bytes(d[10:12], "big") % 3000)
        rx_pkts = connected * (3 + d[12] % 20)
        tx_pkts = connected * (2 + d[13] % 15)
        # iwinfo pads the rate to 38 columns and the packet count to 8.
        blocks.append(
            f"{_mac_text(mac)}  {signal} dBm / {NOISE_DBM} dBm (SNR {signal - NOISE_DBM})"
            f"  {inactive} ms ago\n"
            f"\tRX: {rx:<38}  {rx_pkts:>8} Pkts.\n"
            f"\tTX: {tx:<38}  {tx_pkts:>8} Pkts.\n"
            f"\texpected throughput: {tx_rate * 0.6:.1f} MBit/s\n\n"
        )
    return "".join(blocks)


def info(device: Device, radio: int, ssid: str) -> str:
    """``iwinfo wlanN info`` (also one section of bare ``iwinfo``)."""
    hw = board(device.seed)
    channel = hw.channels[radio % 2]
    ghz = 2.407 + 0.005 * channel if channel < 15 else 5.000 + 0.005 * channel
    mode = "HT Mode: HT20" if radio == 0 else "HT Mode: VHT80"
    hw_mode = "802.11bgn" if radio == 0 else "802.11nac"
    return (
        f'wlan{radio}     ESSID: "{ssid}"\n'
        f"          Access Point: {_radio_mac(hw.mac, radio)}\n"
        f"          Mode: Master  Channel: {channel} ({ghz:.3f} GHz)  {mode}\n"
        f"          Center Channel 1: {channel} 2: unknown\n"
        f"          Tx-Power: {20 if radio == 0 else 23} dBm  Link Quality: unknown/70\n"
        f"          Signal: unknown  Noise: {NOISE_DBM} dBm\n"
        f"          Bit Rate: unknown\n"
        f"          Encryption: none\n"
        f"          Type: nl80211  HW Mode(s): {hw_mode}\n"
        f"          Hardware: 14C3:7663 14C3:7663 [MediaTek MT7663]\n"
        f"          TX power offset: none\n"
        f"          Frequency offset: none\n"
        f"          Supports VAPs: yes  PHY name: phy{radio}\n"
    )


@dataclass(frozen=True)
class Reply:
    """What a shell command wrote and how it ended (``close`` for ``exit``)."""

    stdout: str = ""
    stderr: str = ""
    status: int = 0
    close: bool = False


def run(
    line: str,
    *,
    hostname: str,
    device: Device,
    now: float,
    ssid: str = "CityWiFi",
    shell: str = "-ash",
) -> Reply:
    """Run one command line; ``shell`` names the shell in errors (``-ash`` for a login
    shell, ``ash`` for ``ssh host command``), as BusyBox does via argv[0]."""
    words = line.split()
    if not words:
        return Reply()
    command, args = words[0], words[1:]
    if command == "exit":
        return Reply(close=True)
    if words == ["ubus", "call", "system", "info"]:
        return Reply(system_info(device, now) + "\n")
    if words == ["cat", "/proc/uptime"]:
        return Reply(proc_uptime(device, now) + "\n")
    if words in (["uname", "-a"], ["uname", "-snrvm"]):
        return Reply(f"Linux {hostname} {KERNEL} {KERNEL_BUILD} mips GNU/Linux\n")
    if words in (["uname"], ["uname", "-s"]):
        return Reply("Linux\n")
    if words == ["hostname"] or words == ["cat", "/proc/sys/kernel/hostname"]:
        return Reply(f"{hostname}\n")
    if command == "echo":
        return Reply(" ".join(args) + "\n")
    if command == "iwinfo":
        return _iwinfo(args, device, now, ssid)
    if command in ("true", ":"):
        return Reply()
    return Reply(stderr=f"{shell}: {command}: not found\n", status=127)


def _iwinfo(args: list[str], device: Device, now: float, ssid: str) -> Reply:
    if not args:
        return Reply("\n".join(info(device, r, ssid) for r in range(device.radios)))
    radio = _radio(device, args[0])
    if radio is None:
        return Reply(stderr=f"No such wireless device: {args[0]}\n", status=1)
    if args[1:] == ["assoclist"]:
        stations = assoclist(device, radio, now)
        return Reply(stations if stations.endswith("\n") else stations + "\n")
    if args[1:] in ([], ["info"]):
        return Reply(info(device, radio, ssid))
    return Reply(stderr=f"Unknown command: {' '.join(args[1:])}\n", status=1)

"""The default simulated city: Kota Bekasi, West Java.

Bekasi has 12 kecamatan (districts) over about 210 km² around (-6.24, 106.99). Each
district's centre is placed roughly where that kecamatan lies relative to the others
(Medan Satria and Bekasi Utara north, Pondok Gede and Pondok Melati west, Jatiasih,
Jatisampurna, Bantargebang and Mustika Jaya south, Bekasi Timur and Rawalumbu east,
Bekasi Selatan in the middle), pulled into the simulated city's round shape: the
simulator draws a disc of the city's area, not its real outline, so the offsets are a
plausible layout rather than survey coordinates.
"""

from __future__ import annotations

__all__ = ["AREA_KM2", "CENTER", "KECAMATAN"]

CENTER = (-6.24, 106.99)
AREA_KM2 = 210.0

# name -> (north_km, east_km) of the district's centre from CENTER; alphabetical, so a
# full city's district ids (d01..d12) do not depend on the seed.
KECAMATAN: tuple[tuple[str, tuple[float, float]], ...] = (
    ("Bantargebang", (-5.5, 2.0)),
    ("Bekasi Barat", (1.0, -3.5)),
    ("Bekasi Selatan", (-0.5, -0.5)),
    ("Bekasi Timur", (1.0, 3.5)),
    ("Bekasi Utara", (4.5, 1.5)),
    ("Jatiasih", (-3.0, -2.0)),
    ("Jatisampurna", (-6.0, -2.5)),
    ("Medan Satria", (5.5, -2.5)),
    ("Mustika Jaya", (-3.5, 5.0)),
    ("Pondok Gede", (-1.0, -5.5)),
    ("Pondok Melati", (-3.8, -5.0)),
    ("Rawalumbu", (-2.0, 3.0)),
)

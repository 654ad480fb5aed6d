"""Word lists for plausible names in Bekasi, West Java (partners are fictional).

The districts themselves, with their places, are :mod:`simulators.bekasi`. Each list's
length is part of a seeded city: a list of another length shifts every later draw.
"""

from __future__ import annotations

PARTNERS = (
    "PT Telekomunikasi Nusantara Tbk",
    "PT Bank Patriot Sejahtera",
    "PT Kereta Commuter Kalimalang",
    "PT Energi Cileungsi Lestari",
    "PT Kopi Pekayon Nusantara",
    "PT Semen Bantar Perkasa",
    "PT Tekstil Kaliabang Jaya",
    "PT Asuransi Jiwa Sentosa",
    "Yayasan Pendidikan Patriot",
    "CV Kranji Digital Mandiri",
)

# Kelurahan (neighbourhoods) of Kota Bekasi.
PLACES = (
    "Harapan Jaya",
    "Kaliabang Tengah",
    "Perwira",
    "Teluk Pucung",
    "Marga Mulya",
    "Harapan Baru",
    "Kranji",
    "Bintara",
    "Kota Baru",
    "Jakasampurna",
    "Bintara Jaya",
    "Pekayon Jaya",
    "Jakasetia",
    "Kayuringin Jaya",
    "Marga Jaya",
    "Duren Jaya",
    "Aren Jaya",
    "Margahayu",
    "Pengasinan",
    "Sepanjang Jaya",
    "Bojong Rawalumbu",
    "Bojong Menteng",
    "Mustikasari",
    "Cimuning",
    "Padurenan",
    "Ciketing Udik",
    "Sumur Batu",
    "Cikiwul",
    "Jatikramat",
    "Jatiluhur",
    "Jatirangga",
    "Jatikarya",
    "Jatibening",
    "Jatiwaringin",
    "Jatimelati",
    "Harapan Mulya",
)

PARKS = (
    "Taman Kota",
    "Taman Hutan Kota",
    "Taman Patriot",
    "Taman Kalimalang",
    "Taman Lansia",
    "Taman Bermain",
    "Taman Literasi",
    "Taman Balai Kota",
    "Taman Sehat",
    "Taman Kembang",
    "Taman Pahlawan",
    "Taman Sepeda",
    "Alun-alun",
)

MARKETS = (
    "Pasar Baru",
    "Pasar Kranji",
    "Pasar Bantargebang",
    "Pasar Jatiasih",
    "Pasar Kranggan",
    "Pasar Pondok Gede",
    "Pasar Sumber Arta",
    "Pasar Teluk Pucung",
    "Pasar Wisma Asri",
    "Pasar Jatiwaringin",
    "Pasar Sepanjang Jaya",
    "Pasar Bintara",
)

MOSQUES = (
    "Masjid Al-Ikhlas",
    "Masjid Al-Furqon",
    "Masjid Nurul Huda",
    "Masjid At-Taqwa",
    "Masjid Al-Muhajirin",
    "Masjid Baiturrahman",
    "Masjid Al-Hidayah",
    "Masjid Al-Barokah",
    "Masjid Miftahul Jannah",
    "Masjid Raya",
)

TRANSIT = ("Halte", "Terminal", "Stasiun", "Halte Bus")
OFFICES = ("Kantor Kelurahan", "Kantor Kecamatan", "Balai Warga", "Gedung Serbaguna")
SCHOOLS = ("SDN", "SMPN", "SMAN", "SMKN")

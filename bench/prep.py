#!/usr/bin/env python3
"""Prepares the running server for bench/run's scenarios.

    prep.py URL KEYS_FILE QUANTITY AREA_ID OUT_JSON

For every key in KEYS_FILE (one per line, never printed) orders QUANTITY
numbers of AREA_ID with a REQUEST_ID, from 8 client threads. This gives
every account numbers for DID.LIST, and verifies every key once, so that
the Argon2 cost of a key's first use (19 MiB, two passes) is paid here and
not inside a measured scenario. Then records the size of the reference
ANVEO.AREAS.LIST reply (STATE_ID=US-CA), which baseline (a) answers with.
"""
import concurrent.futures
import http.client
import json
import re
import sys
import threading
import time

url, keys_file, quantity, area, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
with open(keys_file) as f:
    keys = [line.strip() for line in f if line.strip()]
local = threading.local()


def envelope(key, action, params):
    p = "".join(f'<PARAMETER NAME="{k}">{v}</PARAMETER>' for k, v in params)
    return (f'<?xml version="1.0" standalone="no" ?><REQUEST><USERTOKEN><USERKEY>{key}</USERKEY>'
            f'</USERTOKEN><ACTION NAME="{action}">{p}</ACTION></REQUEST>')


def call(key, action, params):
    if not hasattr(local, "conn"):
        local.conn = http.client.HTTPConnection(host, int(port), timeout=60)
    local.conn.request("POST", "/api/v3.asp", envelope(key, action, params),
                       {"Content-Type": "application/xml"})
    return local.conn.getresponse().read()


def order(i_key):
    i, key = i_key
    body = call(key, "DID.ORDER", [("DID_TYPE", "GEOGRAPHIC"), ("AREA_ID", area), ("QUANTITY", quantity),
                                   ("REQUEST_ID", f"prep-{i}")])
    m = re.search(rb'NAME="ERROR_CODE">([A-Z_]+)<', body)
    return m.group(1).decode() if m else "OK"


t = time.time()
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    codes = list(pool.map(order, enumerate(keys)))
elapsed = time.time() - t
tally = {c: codes.count(c) for c in set(codes)}
reply = call(keys[0], "ANVEO.AREAS.LIST", [("STATE_ID", "US-CA")])
if b"SUCCESS" not in reply:
    sys.exit("reference ANVEO.AREAS.LIST failed: " + reply[:300].decode(errors="replace"))
listing = call(keys[0], "DID.LIST", [("LIMIT", "10")])
result = {"keys": len(keys), "orders": tally, "seconds": elapsed, "areas_list_reply_bytes": len(reply),
          "did_list_reply_bytes": len(listing), "did_list_dids": listing.count(b"<DID ")}
with open(out, "w") as f:
    json.dump(result, f)
print(f"prepared {len(keys)} keys in {elapsed:.1f} s (first use of each key: one Argon2 "
      f"verification): orders {tally}; ANVEO.AREAS.LIST reply {len(reply)} bytes; DID.LIST "
      f"{result['did_list_dids']} numbers, {len(listing)} bytes")
if tally != {"OK": len(keys)}:
    sys.exit("preparation orders failed")

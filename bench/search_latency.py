#!/usr/bin/env python3
"""DID.SEARCH latency on a 1,000,000-number area (issue 4's figure).

Builds the release binary, imports one area holding a million numbers into
a temporary database, starts the server on loopback and times DID.SEARCH
with several CONTAINS patterns over one keep-alive connection. Prints the
median and p99 of each. Not part of CI; rerun with `python3 bench/search_latency.py`.
"""
import http.client, json, os, random, re, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = int(os.environ.get("NUMBERS", "1000000"))
subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
BIN = os.path.join(ROOT, "target", "release", "didgate")
tmp = tempfile.mkdtemp(prefix="didgate-search-")
db = os.path.join(tmp, "s.db")
with open(os.path.join(tmp, "catalog.csv"), "w") as f:
    f.write("country_id,country_name,state_id,state_name,state_code,area_id,area_name,area_code,"
            "did_type,rate_plan_id,rate_plan_name,monthly100,setup100\n"
            "US,UNITED STATES,US-NY,New York,NY,big,Big,212,GEOGRAPHIC,SU,Service Unlimited,149,249\n")
random.seed(7)
numbers = sorted(random.sample(range(2_000_000_000, 2_999_999_999), N))
with open(os.path.join(tmp, "numbers.csv"), "w") as f:
    f.write("e164,area_id\n")
    f.writelines(f"1{n},big\n" for n in numbers)
t = time.time()
subprocess.run([BIN, "--db", db, "inventory", "import", "--catalog", f"{tmp}/catalog.csv",
                "--numbers", f"{tmp}/numbers.csv"], check=True, stdout=subprocess.DEVNULL)
print(f"imported {N} numbers in {time.time() - t:.1f} s")
key = json.loads(subprocess.run([BIN, "--db", db, "account", "create", "--name", "B", "--json"],
                                check=True, capture_output=True, text=True).stdout)["api_key"]
port = 18000 + os.getpid() % 1000
server = subprocess.Popen([BIN, "--db", db, "serve", "--listen", f"127.0.0.1:{port}"],
                          stderr=subprocess.DEVNULL)
try:
    time.sleep(1.0)
    conn = http.client.HTTPConnection("127.0.0.1", port)

    def search(params):
        p = "".join(f'<PARAMETER NAME="{k}">{v}</PARAMETER>' for k, v in params)
        body = (f'<REQUEST><USERTOKEN><USERKEY>{key}</USERKEY></USERTOKEN>'
                f'<ACTION NAME="DID.SEARCH">{p}</ACTION></REQUEST>')
        conn.request("POST", "/api/v3.asp", body)
        return conn.getresponse().read()

    search([("AREA_ID", "big")])  # warm the key cache and the page cache
    print(f"{'CONTAINS':<22} {'results':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for pattern in ["", "WOLF", "555", "12*4", "9653*", "42424", "7777777", "0000000000"]:
        params = [("AREA_ID", "big"), ("LIMIT", "20")] + ([("CONTAINS", pattern)] if pattern else [])
        times = []
        for _ in range(50):
            t = time.perf_counter()
            body = search(params)
            times.append((time.perf_counter() - t) * 1000)
        assert b"SUCCESS" in body, body[:300]
        times.sort()
        hits = len(re.findall(rb"<DID ", body))
        print(f"{pattern or '(none)':<22} {hits:>7} {times[25]:>8.2f} {times[49]:>8.2f}")
finally:
    server.terminate()
    server.wait()

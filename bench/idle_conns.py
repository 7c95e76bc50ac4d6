#!/usr/bin/env python3
"""Peak memory of the server holding idle keep-alive connections.

    idle_conns.py URL SERVER_PID KEYS_FILE COUNT HOLD_SECONDS OUT_JSON [one|distinct]

Reads VmHWM/VmRSS of the (freshly started) server, sends one
ANVEO.AREAS.LIST with the first key (its one Argon2 verification), then opens
COUNT connections, sends one request on each, reads the reply and keeps the
connection open and idle; reads VmHWM (peak RSS since the process started)
and VmRSS again after HOLD_SECONDS, and counts how many connections the
server still holds open.

`one` (default): every connection uses the first key, so the server
verifies one key. `distinct`: connection i uses key i (COUNT different
accounts arriving together, 32 at a time, as after a restart), so the
server verifies COUNT keys with Argon2. Keys are never printed.
"""
import concurrent.futures
import json
import resource
import select
import socket
import sys
import time

url, pid, keys_file, count, hold, out = sys.argv[1:7]
mode = sys.argv[7] if len(sys.argv) > 7 else "one"
count, hold = int(count), float(hold)
host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
port = int(port)
with open(keys_file) as f:
    keys = [line.strip() for line in f if line.strip()]
if mode == "distinct" and len(keys) < count:
    sys.exit(f"{count} distinct keys needed, {len(keys)} given")
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, count + 256)), hard))


def mem():
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS", "Threads"):
                out[k] = int(v.split()[0])  # kB (Threads: a count)
    return out


def request(key):
    body = ('<?xml version="1.0" standalone="no" ?><REQUEST><USERTOKEN><USERKEY>' + key +
            '</USERKEY></USERTOKEN><ACTION NAME="ANVEO.AREAS.LIST"><PARAMETER NAME="STATE_ID">US-CA'
            '</PARAMETER></ACTION></REQUEST>').encode()
    return (f"POST /api/v3.asp HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/xml\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def exchange(s, key):
    s.sendall(request(key))
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    head, rest = data.split(b"\r\n\r\n", 1)
    length = int([h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")][0].split(b":")[1])
    while len(rest) < length:
        rest += s.recv(65536)
    return b"SUCCESS" in rest


def open_one(i):
    s = socket.create_connection((host, port))
    if not exchange(s, keys[i] if mode == "distinct" else keys[0]):
        sys.exit("a request on an idle connection failed")
    return s


result = {"connections": count, "mode": mode, "at_start": mem()}
first = socket.create_connection((host, port))
assert exchange(first, keys[0]), "reference request failed"
first.close()
result["after_first_request"] = mem()
t = time.time()
if mode == "distinct":
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        socks = list(pool.map(open_one, range(count)))
else:
    socks = [open_one(i) for i in range(count)]
result["open_seconds"] = time.time() - t
result["after_open"] = mem()
time.sleep(hold)
result["after_hold"] = mem()
# A connection the server closed is readable (EOF); an idle open one is not.
poller = select.poll()
for s in socks:
    poller.register(s, select.POLLIN)
result["closed_by_server"] = len(poller.poll(0))
result["held_seconds"] = hold
# How long the server keeps an idle keep-alive connection: look again once
# the connections have been idle for 12 s (past the default 10 s header timeout).
time.sleep(max(0.0, 12 - hold))
result["closed_after_12s_idle"] = len(poller.poll(0))
for s in socks:
    s.close()
result["peak_rss_mib"] = result["after_hold"]["VmHWM"] / 1024
with open(out, "w") as f:
    json.dump(result, f)
print(f"{count} idle connections ({mode} key{'s' if mode == 'distinct' else ''}): VmHWM {result['peak_rss_mib']:.1f} MiB (start "
      f"{result['at_start']['VmHWM'] / 1024:.1f}, after first request {result['after_first_request']['VmHWM'] / 1024:.1f}, "
      f"after opening {result['after_open']['VmHWM'] / 1024:.1f}), VmRSS now {result['after_hold']['VmRSS'] / 1024:.1f} MiB; "
      f"{result['closed_by_server']} closed by the server within {hold:.0f} s, "
      f"{result['closed_after_12s_idle']} after 12 s idle")

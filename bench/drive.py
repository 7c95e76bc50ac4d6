#!/usr/bin/env python3
"""Runs one load scenario for bench/run and writes its result as JSON.

    drive.py --name NAME --label TEXT --url URL --server-pid PID --out DIR
             [--threads 2] [--conns 64] [--duration 10] [--warmup 2]
             [--action A] [--params "K=V;K=V"] [--vary "K=V1,V2"]
             [--keys FILE] [--key-mode one|rotate] [--request-id TAG]
             [--flood same|many] [--flood-conns 64] [--flood-rate 1000]

The load is wrk with bench/didgate.lua (one envelope built per request, replies
counted by ERROR_CODE). With --flood, Python threads in this process send
envelopes with wrong keys (real key ids, random secrets: each one costs the
server a database read and an Argon2 verification unless it is rate limited)
beside the wrk load, paced to --flood-rate requests a second in all, so that
the flood client's own CPU use (it shares the machine) stays bounded. They
come from 127.0.0.1 like the valid traffic (`same`: the client behind the
attacker's NAT), or each connection from a fresh random 127.x.y.z address
(`many`: a distributed flood no per-address limit can stop).

Besides wrk's figures it records CPU seconds used during the measured run by
the server (/proc/PID/stat), by wrk (wait4), by this process (the flood) and
by the whole machine (/proc/stat), so the share taken by other work on the
machine (other = busy - server - wrk - flood) is visible. Keys are read from
--keys and never printed.
"""
import argparse
import json
import os
import random
import re
import resource
import shlex
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TICK = os.sysconf("SC_CLK_TCK")


def machine_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return (sum(v[:8]) - idle) / TICK


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_memory_mib(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmHWM", "VmRSS"):
                out[k] = int(v.split()[0]) / 1024
    return out


def self_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_wrk(args, duration, env):
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.conns}", f"-d{duration}s", "--timeout", "10s",
           "--latency", "-s", os.path.join(HERE, "didgate.lua"), args.url]
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"wrk failed ({p.returncode}): {out[-2000:]}")
    m = re.search(r"^BENCH_RESULT (\{.*\})$", out, re.M)
    if not m:
        sys.exit(f"no BENCH_RESULT in wrk output: {out[-2000:]}")
    return cmd, json.loads(m.group(1)), usage.ru_utime + usage.ru_stime


CODE = re.compile(rb'NAME="ERROR_CODE">([A-Z_]+)<')


class Flood:
    """Wrong keys from many threads until stopped."""

    def __init__(self, url, mode, conns, rate, key_ids):
        hostport = url.split("//", 1)[1].split("/", 1)[0]
        self.host, port = hostport.rsplit(":", 1)
        self.port = int(port)
        self.mode, self.conns, self.rate, self.key_ids = mode, conns, rate, key_ids
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.counts = {}
        self.started = self.ended = 0.0
        self.threads = [threading.Thread(target=self.worker, daemon=True) for _ in range(conns)]

    def count(self, code):
        with self.lock:
            self.counts[code] = self.counts.get(code, 0) + 1

    def envelope(self, rng):
        key = f"dg_{rng.choice(self.key_ids)}_{rng.getrandbits(256):064x}"
        return ('<?xml version="1.0" standalone="no" ?><REQUEST><USERTOKEN><USERKEY>' + key +
                '</USERKEY></USERTOKEN><ACTION NAME="ANVEO.AREAS.LIST">'
                '<PARAMETER NAME="STATE_ID">US-CA</PARAMETER></ACTION></REQUEST>')

    def request_bytes(self, rng):
        body = self.envelope(rng).encode()
        return (b"POST /api/v3.asp HTTP/1.1\r\nHost: " + self.host.encode() +
                b"\r\nContent-Type: application/xml\r\nContent-Length: " + str(len(body)).encode() +
                b"\r\n\r\n" + body)

    @staticmethod
    def read_reply(sock, buf):
        """One HTTP/1.1 reply from `sock` (bytes already read in `buf`):
        (status, body, rest of buf, whether the server closes)."""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise OSError("connection closed")
            buf += chunk
        head, _, buf = buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        while len(buf) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise OSError("connection closed")
            buf += chunk
        return status, buf[:length], buf[length:], close

    def worker(self):
        # Raw sockets and prebuilt requests rather than http.client: the
        # flood client shares the two cores with the server and wrk, so
        # its own CPU use would count as the server's slowdown.
        rng = random.Random()
        # Each thread paces itself to rate/conns requests a second (it falls
        # behind, and sends as fast as the server answers, when replies are slow).
        interval = self.conns / self.rate
        due = time.monotonic() + rng.random() * interval
        while not self.stop.is_set():
            if self.mode == "many":
                # A fresh address per connection, fewer requests on it than
                # the per-address failure burst: a botnet.
                source = f"127.{rng.randint(1, 254)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
                per_conn = 10
            else:
                source, per_conn = "127.0.0.1", 1_000_000
            try:
                sock = socket.create_connection((self.host, self.port), timeout=30,
                                                source_address=(source, 0))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                buf = b""
                for _ in range(per_conn):
                    if self.stop.is_set():
                        break
                    wait = due - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    due = max(due + interval, time.monotonic() - interval)
                    sock.sendall(self.request_bytes(rng))
                    status, body, buf, close = self.read_reply(sock, buf)
                    m = CODE.search(body)
                    self.count(m.group(1).decode() if m else f"HTTP_{status}")
                    if close:
                        break
                sock.close()
            except OSError:
                self.count("socket_error")
                time.sleep(0.01)

    def start(self):
        self.started = time.time()
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        self.ended = time.time()
        for t in self.threads:
            t.join(timeout=35)
        total = sum(self.counts.values())
        return {"mode": self.mode, "conns": self.conns, "target_rps": self.rate, "requests": total,
                "rps": total / max(self.ended - self.started, 1e-9), "codes": dict(self.counts)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--server-pid", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--action", default="ANVEO.AREAS.LIST")
    ap.add_argument("--params", default="")
    ap.add_argument("--vary", default="")
    ap.add_argument("--keys", default="")
    ap.add_argument("--key-mode", default="one")
    ap.add_argument("--request-id", default="")
    ap.add_argument("--pace-ms", type=float, default=0,
                    help="mean pause of each connection between requests (0: none, a closed loop)")
    ap.add_argument("--target-rps", type=float, default=0,
                    help="pace the connections to offer about this many requests/s in all; the pause is "
                         "calibrated during the warm-up (which must be at least 1 s)")
    ap.add_argument("--flood", default="")
    ap.add_argument("--flood-conns", type=int, default=64)
    ap.add_argument("--flood-rate", type=float, default=1000)
    args = ap.parse_args()

    env = dict(os.environ, BENCH_ACTION=args.action, BENCH_PARAMS=args.params, BENCH_VARY=args.vary,
               BENCH_KEYS=args.keys, BENCH_KEY_MODE=args.key_mode)
    if args.target_rps > 0:
        # A connection's cycle is its pause plus the reply's latency plus
        # wrk's timer overhead; the pause alone would offer too little.
        args.pace_ms = args.conns * 1000 / args.target_rps
    if args.pace_ms > 0:
        env["BENCH_PACE_MS"] = f"{args.pace_ms:g}"
    if args.warmup > 0:
        if args.request_id:
            env["BENCH_REQUEST_ID"] = f"{args.request_id}-warm"
        warm = int(max(1, args.warmup))
        if args.target_rps > 0:
            # Calibrated in one-second steps, each correcting the last: the
            # overhead (latency, wrk's timers) changes with the pause, so a
            # single correction fell short of high rates.
            for _ in range(max(3, warm)):
                _, w, _ = run_wrk(args, 1, env)
                if w["requests"] > 0 and w["duration_us"] > 0:
                    achieved = w["requests"] / (w["duration_us"] / 1e6)
                    overhead = args.conns * 1000 / achieved - args.pace_ms
                    args.pace_ms = max(0.0, args.conns * 1000 / args.target_rps - overhead)
                    env["BENCH_PACE_MS"] = f"{args.pace_ms:g}"
        else:
            run_wrk(args, warm, env)
    if args.request_id:
        env["BENCH_REQUEST_ID"] = args.request_id
    flood = None
    if args.flood:
        with open(args.keys) as f:
            key_ids = [line.split("_")[1] for line in f if line.startswith("dg_")]
        flood = Flood(args.url, args.flood, args.flood_conns, args.flood_rate, key_ids)
        flood.start()
        time.sleep(1.0)  # let the flood reach its steady state first
    busy0, server0, self0 = machine_busy(), proc_cpu(args.server_pid), self_cpu()
    cmd, r, wrk_cpu = run_wrk(args, int(args.duration), env)
    busy1, server1, self1 = machine_busy(), proc_cpu(args.server_pid), self_cpu()
    flood_result = flood.finish() if flood else None

    seconds = r["duration_us"] / 1e6
    server_cpu = server1 - server0
    result = {
        "name": args.name,
        "label": args.label,
        "action": args.action,
        "params": args.params,
        "vary": args.vary,
        "key_mode": args.key_mode,
        "request_id": bool(args.request_id),
        "pace_ms": args.pace_ms,
        "target_rps": args.target_rps,
        "threads": args.threads,
        "conns": args.conns,
        "requests": r["requests"],
        "seconds": seconds,
        "rps": r["requests"] / seconds,
        "p50_ms": r["p50_us"] / 1000,
        "p90_ms": r["p90_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "max_ms": r["max_us"] / 1000,
        "codes": r["codes"],
        "socket_errors": r["socket_errors"],
        "non2xx": r["non2xx"],
        "cpu": {
            "server_s": server_cpu,
            "wrk_s": wrk_cpu,
            "flood_s": self1 - self0,
            "busy_s": busy1 - busy0,
            "other_s": max(0.0, (busy1 - busy0) - server_cpu - wrk_cpu - (self1 - self0)),
            "cores": os.cpu_count(),
            "server_us_per_request": server_cpu * 1e6 / max(r["requests"], 1),
        },
        "server_memory_mib": proc_memory_mib(args.server_pid),
        "flood": flood_result,
        "command": " ".join(shlex.quote(c) for c in cmd),
        "env": {k: env[k] for k in ("BENCH_ACTION", "BENCH_PARAMS", "BENCH_VARY", "BENCH_KEY_MODE", "BENCH_PACE_MS")
                if k in env},
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, f"{args.name}.json"), "w") as f:
        json.dump(result, f, indent=1)
    codes = " ".join(f"{k}={v}" for k, v in sorted(r["codes"].items()))
    extra = ""
    if flood_result:
        extra = f"  flood {flood_result['rps']:.0f} req/s {flood_result['codes']}"
    print(f"{args.name:<16} {result['rps']:>9.0f} req/s  p50 {result['p50_ms']:6.2f} ms  "
          f"p99 {result['p99_ms']:7.2f} ms  {codes}  server {result['cpu']['server_us_per_request']:.0f} "
          f"µs CPU/req, other load {result['cpu']['other_s']:.1f} CPU-s{extra}", flush=True)


if __name__ == "__main__":
    main()

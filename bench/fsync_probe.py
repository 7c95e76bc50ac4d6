#!/usr/bin/env python3
"""Measures the disk's fsync latency the way the writer meets it.

    fsync_probe.py DIR SECONDS RATE OUT_JSON

Writes 4 KiB and fsyncs it RATE times a second (paced, like a writer
committing batches) in a file in DIR for SECONDS, and records the latency
distribution, how many fsyncs took longer than 25 ms (the order latency
budget), and the share of the time the disk was stalled beyond 25 ms: the
share of requests that, arriving at a random moment, would wait longer
than 25 ms for their commit whatever the server does.
"""
import json
import os
import sys
import time

directory, seconds, rate, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
path = os.path.join(directory, "fsync.probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
latencies, offset = [], 0
start = next_at = time.monotonic()
while time.monotonic() - start < seconds:
    now = time.monotonic()
    if now < next_at:
        time.sleep(next_at - now)
    next_at += 1 / rate
    os.pwrite(fd, b"x" * 4096, offset)
    offset = (offset + 4096) % (16 << 20)
    t = time.perf_counter()
    os.fsync(fd)
    latencies.append(time.perf_counter() - t)
elapsed = time.monotonic() - start
os.close(fd)
os.remove(path)
budget = 0.025
latencies.sort()
n = len(latencies)
r = {
    "rate": rate,
    "seconds": elapsed,
    "fsyncs": n,
    "p50_ms": latencies[n // 2] * 1e3,
    "p99_ms": latencies[min(n - 1, int(n * 0.99))] * 1e3,
    "max_ms": latencies[-1] * 1e3,
    "over_25ms": sum(l > budget for l in latencies),
    "stalled_share": sum(max(0.0, l - budget) for l in latencies) / elapsed,
}
with open(out, "w") as f:
    json.dump(r, f)
print(f"fsync {rate:.0f}/s x 4 KiB for {elapsed:.0f} s: p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
      f"max {r['max_ms']:.0f} ms; {r['over_25ms']} over 25 ms; stalled beyond 25 ms "
      f"{r['stalled_share'] * 100:.1f}% of the time")

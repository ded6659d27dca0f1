#!/usr/bin/env python3
"""Latency benchmark: how long a full `romm-oidc doctor` (no login) takes against
a provider that answers every request after L ms.

The doctor's critical path is discovery, then everything that needs it at once
(key set, client metadata, credential probe, RomM's authorization request), so the goal is a wall time under
2.5 x L + 50 ms, where a sequential run would need one L per request.

Usage: python3 bench/latency.py [L_ms ...]   (default: 50 100 200 400)
It builds the release binaries, starts the repo's Pocket ID emulator with
injected latency on 127.0.0.1, runs doctor 5 times per L and prints the median
wall time, the ratio to L, and the bound.
"""
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")
SECRET = "romm-secret-0123456789abcdefABCD"
RUNS = 5


def build():
    subprocess.run(["cargo", "build", "--release", "--workspace", "--quiet"], cwd=ROOT, check=True)


def start_emulator(latency_ms):
    proc = subprocess.Popen(
        [os.path.join(BIN, "pocket-id-emulator"), "--latency-ms", str(latency_ms),
         "--client-id", "romm", "--client-secret", SECRET,
         "--callback", "https://romm.example.com/api/oauth/openid"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    issuer = proc.stdout.readline().strip()
    if not issuer.startswith("http"):
        proc.kill()
        sys.exit(f"the emulator did not start (printed {issuer!r})")
    return proc, issuer


def run_doctor(issuer):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OIDC_")}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    started = time.perf_counter()
    out = subprocess.run(
        [os.path.join(BIN, "romm-oidc"), "doctor", "--json", "--issuer", issuer,
         "--client-id", "romm", "--client-secret", SECRET,
         "--redirect-uri", "https://romm.example.com/api/oauth/openid"],
        capture_output=True, text=True, env=env)
    elapsed = (time.perf_counter() - started) * 1000
    report = json.loads(out.stdout)
    network = [c for c in report["checks"] if c["id"].split(".")[0] in ("discovery", "jwks", "client")]
    failed = [c["id"] for c in network if c["status"] == "fail"]
    if failed:
        sys.exit(f"doctor failed checks {failed}; the benchmark needs a passing run")
    return elapsed, len(network)


def main():
    latencies = [int(a) for a in sys.argv[1:]] or [50, 100, 200, 400]
    build()
    print(f"{'L (ms)':>7} {'median (ms)':>12} {'ratio':>7} {'bound 2.5L+50':>14} {'sequential ~':>13}  verdict")
    all_ok = True
    for latency in latencies:
        proc, issuer = start_emulator(latency)
        try:
            run_doctor(issuer)  # warm-up: page cache, lazily generated keys
            times = []
            for _ in range(RUNS):
                elapsed, _checks = run_doctor(issuer)
                times.append(elapsed)
        finally:
            proc.kill()
            proc.wait()
        median = statistics.median(times)
        bound = 2.5 * latency + 50
        # discovery, key set, client metadata, token probe, authorization request:
        # 5 requests one after another
        sequential = 5 * latency
        ok = median < bound
        all_ok &= ok
        print(f"{latency:>7} {median:>12.1f} {median / latency:>7.2f} {bound:>14.0f} {sequential:>13.0f}  {'ok' if ok else 'OVER'}")
    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    main()

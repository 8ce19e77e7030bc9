"""A normal question's latency while eight clients send oversized questions, against the same question
unloaded, in one run (the limit refuses a question over ASSISTANT_MAX_QUESTION_CHARS before any work).

    python bench/load.py [--requests 40] [--clients 8] [--chars 100000] [--embedder minilm|hash]

Starts `assistant serve --llm extractive` over the seeds on a loopback port, asks the seed question
``--requests`` times alone (p50/p95), then again while ``--clients`` client processes keep sending questions of
``--chars`` characters, and prints both with their ratio, how the oversized ones were answered and the
CPU the server and the clients used. The clients are processes of their own at the lowest priority
(``--client-nice 19``; 0 runs them as the server): on a 2-core machine their own CPU would otherwise be
what slows the server down.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scale import free_port, pct  # bench/ is this script's folder

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How many ISIS detainees has Iraq received?"


HAMMER = """
import json, sys
from gradio_client import Client
c = Client(sys.argv[1], verbose=False)
big = "x" * int(sys.argv[2]) + "?"
outcomes = {}
try:
    while True:
        try:
            c.predict(question=big, api_name="/ask")
            outcomes["answered"] = outcomes.get("answered", 0) + 1
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            key = "refused: " + str(exc).split("(ASSISTANT")[0][-60:]
            outcomes[key] = outcomes.get(key, 0) + 1
except KeyboardInterrupt:
    pass
print(json.dumps(outcomes), flush=True)
"""


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(client, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        client.predict(question=QUESTION, api_name="/ask")
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=40)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--chars", type=int, default=100_000)
    ap.add_argument("--embedder", default="minilm")
    ap.add_argument("--client-nice", type=int, default=19, help="priority of the oversized clients (0: as the server)")
    args = ap.parse_args(argv)
    from gradio_client import Client

    work = Path(tempfile.mkdtemp(prefix="load-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ASSISTANT_INDEX_DIR": str(work / "index"),
           "ASSISTANT_EMBEDDER": args.embedder, "ASSISTANT_SEEDS_DIR": str(ROOT / "seeds")}
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "assistant.apps.cli", "serve", "--port", str(port), "--llm",
                               "extractive"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 300
        while True:
            try:
                client = Client(url, verbose=False)
                break
            except Exception:
                if time.time() > deadline or server.poll() is not None:
                    raise SystemExit("assistant serve did not start") from None
                time.sleep(1)
        timed(client, 3)  # warm
        alone = timed(client, args.requests)
        # each oversized client is a process of its own, as a real client is (threads in this process
        # would share its interpreter lock with the timed client and slow the timing, not the server)
        # On a 2-core machine the clients' own CPU (gradio_client is not light) competes with the server's;
        # real clients run elsewhere, so by default they run at the lowest priority (--client-nice 19) and
        # take only what the server leaves. The CPU each side used is printed.
        hammers = [subprocess.Popen([sys.executable, "-c", HAMMER, url, str(args.chars)], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True,
                                    preexec_fn=(lambda: os.nice(args.client_nice)) if args.client_nice else None)
                   for _ in range(args.clients)]
        time.sleep(5)  # the clients are connected and sending
        cpu0, t0 = (cpu_seconds(server.pid), sum(cpu_seconds(h.pid) for h in hammers)), time.perf_counter()
        loaded = timed(client, args.requests)
        wall = time.perf_counter() - t0
        server_cpu = (cpu_seconds(server.pid) - cpu0[0]) / wall
        clients_cpu = (sum(cpu_seconds(h.pid) for h in hammers) - cpu0[1]) / wall
        outcomes: dict[str, int] = {}
        for h in hammers:
            h.send_signal(signal.SIGINT)
            out, _ = h.communicate(timeout=60)
            for key, n in json.loads(out.strip().splitlines()[-1] if out.strip() else "{}").items():
                outcomes[key] = outcomes.get(key, 0) + n
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"normal question, {args.requests} requests each, extractive engine, {args.embedder} embedder:")
    print("| | p50 | p95 |")
    print("|---|---|---|")
    print(f"| alone | {statistics.median(alone):.3f} s | {pct(alone, 95):.3f} s |")
    print(f"| with {args.clients} clients sending {args.chars:,}-character questions | "
          f"{statistics.median(loaded):.3f} s | {pct(loaded, 95):.3f} s |")
    print(f"p95 loaded / alone: {pct(loaded, 95) / pct(alone, 95):.2f}x; the oversized questions: {outcomes}")
    print(f"while loaded: the server used {server_cpu:.0%} of a core, the {args.clients} clients "
          f"{clients_cpu:.0%} (at nice {args.client_nice})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

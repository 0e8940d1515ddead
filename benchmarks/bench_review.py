"""Review app: queue page latency with many flags in SQLite, plus import throughput.

    .venv/bin/python benchmarks/bench_review.py --flags 100000 --decided 2000 --repeat 30

Writes a fictional sample (``crimedetect.review.sample``) of --flags records, crimes and
flags, imports it with the same batched import ``crimedetect serve`` uses, records
--decided decisions, then starts ``crimedetect serve`` as a real server on 127.0.0.1 and
times HTML queue pages (first page, a deep page, each filter), the JSON queue and a record
page over HTTP with keep-alive: median, p95 and max over --repeat requests after one warm-up.
Prints import records/s and the peak resident memory of this process and of the server.
The target is a queue page in under 200 ms at 100,000 flags.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from crimedetect.io import ReadStats
from crimedetect.review.auth import CurrentUser, add_user
from crimedetect.review.db import User, make_engine
from crimedetect.review.decisions import validate_decision
from crimedetect.review.sample import write_sample
from crimedetect.review.store import QueueFilter, ReviewStore

PASSWORD = "benchmark password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed(client: httpx.Client, path: str, repeat: int) -> tuple[float, float, float, int]:
    """(median, p95, max) milliseconds and response size for GET path."""
    client.get(path).raise_for_status()  # warm-up
    times = []
    size = 0
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
        size = len(response.content)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return statistics.median(times), p95, times[-1], size


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--flags", type=int, default=100_000, help="records (one flag line each)")
    parser.add_argument("--decided", type=int, default=2000, help="flags to record a decision on")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one)")
    args = parser.parse_args()

    work = args.dir or Path(tempfile.mkdtemp(prefix="bench_review_"))
    work.mkdir(parents=True, exist_ok=True)
    db_path = work / "review.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{db_path}"
    print(
        f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min), "
        f"{os.cpu_count()} CPUs"
    )

    start = time.perf_counter()
    records, crimes, flags = write_sample(work, args.flags, seed=1)
    print(f"sample written: {args.flags:,} records in {time.perf_counter() - start:.1f} s")

    store = ReviewStore(make_engine(url))
    start = time.perf_counter()
    all_stats: list[ReadStats]
    all_stats, counts = store.import_files(flags=flags, records=records, crimes=crimes)
    elapsed = time.perf_counter() - start
    lines = sum(s.read for s in all_stats)
    print(
        f"import: {lines:,} lines (records+crimes+flags) in {elapsed:.1f} s = "
        f"{lines / elapsed:,.0f} lines/s, {args.flags / elapsed:,.0f} records/s"
    )
    start = time.perf_counter()
    _, again = store.import_files(flags=flags, records=records, crimes=crimes)
    print(
        f"re-import (idempotent, all unchanged={all(c.unchanged == c.total for c in again)}): "
        f"{time.perf_counter() - start:.1f} s"
    )

    with store.sessions.begin() as db:
        add_user(db, "bench", "supervisor", PASSWORD)
        user_id = db.query(User).filter_by(username="bench").one().id
    user = CurrentUser(user_id, "bench", "supervisor", "", "")
    start = time.perf_counter()
    decided = 0
    page = 1
    while decided < args.decided:
        items = store.queue(QueueFilter(status="open", per_page=200, page=page)).items
        if not items:
            break
        for item in items:
            view = store.record_view(item.record_id)
            assert view is not None
            for finding in view.findings:
                store.add_decision(
                    user, item.record_id, finding.key, validate_decision("refer_fcr"), expected_current=None
                )
            decided += 1
            if decided >= args.decided:
                break
    print(
        f"decisions: {decided:,} records decided in {time.perf_counter() - start:.1f} s "
        f"(one transaction per decision, as in the app)"
    )

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "crimedetect", "serve", "--db", url, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "CRIMEDETECT_REVIEW_SECRET": "bench-only-secret"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/login", timeout=2)
                break
            except httpx.TransportError as exc:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(
                        "server did not start: " + (server.stderr.read().decode() if server.stderr else "")
                    ) from exc
                time.sleep(0.2)
        with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
            page_html = client.get("/login").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page_html).group(1)  # type: ignore[union-attr]
            r = client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
            assert r.status_code == 303, r.text
            deep = max(1, args.flags // 50 // 2)
            top = client.get("/api/queue?per_page=1").json()["items"][0]["record_id"]
            scenarios = [
                ("queue, first page", "/"),
                (f"queue, page {deep:,}", f"/?page={deep}"),
                ("queue, last page", "/?page=1000000"),
                ("queue, category=rape", "/?category=rape"),
                ("queue, type=late + kind=incident", "/?finding_type=late&kind=incident"),
                ("queue, status=open", "/?status=open"),
                ("queue, status=decided", "/?status=decided"),
                ("queue, date range (1 month)", "/?date_from=2017-03-01&date_to=2017-03-31"),
                (
                    "queue, all filters",
                    "/?category=theft&finding_type=unrecorded&kind=incident"
                    "&date_from=2017-02-01&date_to=2017-08-31&status=open",
                ),
                ("API /api/queue", "/api/queue"),
                ("record page", f"/records/{top}"),
            ]
            print(
                f"\nHTTP latency over {args.repeat} requests, {args.flags:,} flags, "
                f"SQLite ({db_path.stat().st_size / 1e6:.0f} MB):"
            )
            print(f"{'scenario':42s} {'median ms':>10s} {'p95 ms':>8s} {'max ms':>8s} {'bytes':>8s}")
            worst = 0.0
            for name, path in scenarios:
                median, p95, slowest, size = timed(client, path, args.repeat)
                worst = max(worst, p95) if name.startswith("queue") else worst
                print(f"{name:42s} {median:10.1f} {p95:8.1f} {slowest:8.1f} {size:8d}")
            print(f"\nworst queue p95: {worst:.1f} ms (target < 200 ms)")
        server_rss = psutil.Process(server.pid).memory_info().rss
    finally:
        server.terminate()
        server.wait(timeout=20)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: bench process {peak:.0f} MB, server resident {server_rss / 1e6:.0f} MB")
    print(f"load after: {os.getloadavg()[0]:.2f}")
    if args.dir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

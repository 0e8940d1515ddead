"""Benchmark: stream a large JSON Lines records file through the contract reader.

    python benchmarks/bench_io.py --size-mb 1024

Generates the file once (cached under --dir), then reads and validates every line with
``crimedetect.io.read_contract``; prints records/s, MB/s and peak resident memory. The
reader streams, so peak memory should not grow with the file's size.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time
from pathlib import Path

from crimedetect.io import ReadStats, read_contract

WORDS = (
    "RP states ex-partner has turned up at the address and is shouting IP has red mark to left "
    "cheek DASH completed medium PPN submitted officers attended no further issues male left "
    "prior to police arrival CCTV requested neighbour heard banging words only advice given"
).split()


def generate(path: Path, size_mb: int, seed: int = 1) -> int:
    """Write ~size_mb of records of ~150 words in 3 entries; returns the record count."""
    rng = random.Random(seed)
    target = size_mb * 1024 * 1024
    written = count = 0
    with path.open("w", encoding="utf-8") as handle:
        while written < target:
            entries = [
                {
                    "at": f"2017-01-{1 + count % 28:02d}T{10 + i:02d}:13:00Z",
                    "author": "PC 2231",
                    "text": " ".join(rng.choices(WORDS, k=50)),
                }
                for i in range(3)
            ]
            line = json.dumps({"record_id": f"BENCH-{count:09d}", "entries": entries}) + "\n"
            handle.write(line)
            written += len(line)
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--dir", type=Path, default=Path("bench-out"))
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / f"records-{args.size_mb}mb.jsonl"
    if not path.exists():
        started = time.perf_counter()
        n = generate(path, args.size_mb)
        print(f"generated {n:,} records in {time.perf_counter() - started:.1f} s -> {path}")
    size_mb = path.stat().st_size / 1024 / 1024
    stats = ReadStats(str(path))
    started = time.perf_counter()
    for _ in read_contract(path, "records", stats=stats):
        pass
    elapsed = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"file: {size_mb:,.0f} MB, read {stats.read:,}, "
        f"accepted {stats.accepted:,}, rejected {stats.rejected:,}"
    )
    print(
        f"records/s: {stats.read / elapsed:,.0f}   MB/s: {size_mb / elapsed:,.1f}   elapsed: {elapsed:.1f} s"
    )
    print(f"peak memory (max RSS): {peak_mib:,.0f} MiB")


if __name__ == "__main__":
    main()

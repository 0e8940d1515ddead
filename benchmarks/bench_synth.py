"""Benchmark the synthetic force generator: records/s (wall and per CPU-second) and peak memory.

Each size runs in its own process, so peak RSS is that run's alone; equal peaks across sizes
show that generation streams in bounded memory. Optionally measures recording rates against
the profile (``--rates``).

    .venv/bin/python benchmarks/bench_synth.py                 # 5,000 and 20,000 records
    .venv/bin/python benchmarks/bench_synth.py 20000 100000 --rates
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time


def _worker(n_records: int, profile: str, split: str, write: bool) -> dict[str, object]:
    from crimedetect.synth import generate
    from crimedetect.synth.writer import write_synthetic

    list(generate(50, seed=1, profile=profile, split=split))  # load banks and profile
    wall, cpu = time.perf_counter(), time.process_time()
    if write:
        with tempfile.TemporaryDirectory() as out:
            summary = write_synthetic(out, n_records, seed=7, profile=profile, split=split)
            size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
        crimes = summary.crimes
    else:
        crimes = size = 0
        for _, cs, _ in generate(n_records, seed=7, profile=profile, split=split):
            crimes += len(cs)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "records": n_records,
        "mode": "generate+write jsonl" if write else "generate only",
        "crimes": crimes,
        "wall_s": round(wall, 2),
        "records_per_s_wall": round(n_records / wall),
        "records_per_cpu_s": round(n_records / cpu),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "bytes_written": size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sizes", nargs="*", type=int, default=[5000, 20000])
    parser.add_argument("--profile", default="leicestershire-2017")
    parser.add_argument("--split", default="train")
    parser.add_argument("--rates", action="store_true", help="also measure rates vs profile (largest size)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--write", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(_worker(args.worker, args.profile, args.split, args.write)))
        return

    print(
        f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
        f"{os.getloadavg()[2]:.2f} on {os.cpu_count()} cores (other jobs slow wall-clock rates)"
    )
    print(f"{'records':>9} {'mode':<22} {'wall s':>7} {'rec/s wall':>11} {'rec/CPU-s':>10} {'peak MB':>8}")
    for size in args.sizes:
        for write in (False, True):
            command = [
                sys.executable,
                __file__,
                "--worker",
                str(size),
                "--profile",
                args.profile,
                "--split",
                args.split,
            ] + (["--write"] if write else [])
            row = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            print(
                f"{row['records']:>9} {row['mode']:<22} {row['wall_s']:>7} {row['records_per_s_wall']:>11,} "
                f"{row['records_per_cpu_s']:>10,} {row['peak_rss_mb']:>8}"
            )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.rates:
        from crimedetect.synth import generate, load_profile
        from crimedetect.synth.measure import measure

        size = max(args.sizes)
        meter = measure(generate(size, seed=7, profile=args.profile, split=args.split))
        print(f"\nrates on {size:,} records, profile {args.profile}, seed 7, split {args.split}")
        print(f"{'measure':<36} {'measured':>9} {'n':>6} {'95% CI':>15} {'target':>7}")
        for row in meter.rows(load_profile(args.profile)):
            target = f"{row['target']:.1%}" if row["target"] is not None else "-"
            print(
                f"{row['measure']:<36} {row['measured']:>9.1%} {row['n']:>6} "
                f"{row['low']:>7.1%}-{row['high']:.1%} {target:>7}"
            )
        print("counts:", json.dumps(dict(sorted(meter.counts.items()))))


if __name__ == "__main__":
    main()

"""Benchmark ``crimedetect scan``: records/s and peak memory on synthetic records.

Generates N synthetic records (``crimedetect.synth.generate``) once into a work folder, then
runs the local scan engine for each worker count, each in a fresh process so that peak
memory (ru_maxrss of the scan process and of its worker processes) is its own. Prints a
table and the projected time for a force-year of 300,000 records.

    .venv/bin/python benchmarks/bench_scan.py --records 5000 --workers 1 2 --rules-only
    .venv/bin/python benchmarks/bench_scan.py --records 2000 --workers 1 2 --model models:/...@champion

The machine is shared: the 1-minute load average before and after each run is printed.
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
from pathlib import Path

FORCE_YEAR = 300_000


def generate(folder: Path, n: int, seed: int, profile: str | None) -> tuple[Path, Path]:
    """Write records.jsonl and crimes.jsonl for ``n`` synthetic records (cached by size and seed)."""
    from crimedetect.io import ContractWriter
    from crimedetect.synth import generate as synth

    records, crimes = folder / f"records-{n}-{seed}.jsonl", folder / f"crimes-{n}-{seed}.jsonl"
    if records.exists() and crimes.exists():
        return records, crimes
    kwargs = {"profile": profile} if profile else {}
    with ContractWriter(records, "records") as rw, ContractWriter(crimes, "crimes") as cw:
        for record, record_crimes, _audit in synth(n, seed, split="test", **kwargs):
            rw.write(record)
            for crime in record_crimes:
                cw.write(crime)
    return records, crimes


def one_run(
    records: str,
    crimes: str,
    out: str,
    workers: int,
    model: str | None,
    batch_size: int,
    quantize: bool = False,
    rules_config: str | None = None,
    model_in_workers: bool = False,
    model_gate: bool = True,
    model_threads: int = 1,
) -> dict:
    """Run one scan in this process and report its numbers (called in a child process)."""
    from crimedetect.scan import run_scan

    start = time.perf_counter()
    summary = run_scan(
        records,
        crimes,
        out,
        model_uri=model,
        rules_only=model is None,
        workers=workers,
        batch_size=batch_size,
        quantize=quantize,
        rules_config=rules_config,
        model_in_workers=model_in_workers,
        model_gate=model_gate,
        model_threads=model_threads,
    )
    seconds = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "workers": workers,
        "records": summary.written,
        "seconds": round(seconds, 2),
        "records_per_s": round(summary.written / seconds, 1),
        "peak_mib_main": round(own, 1),
        "peak_mib_worker": round(children, 1),
        "flagged": summary.flagged,
        "versions": summary.versions,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=5000, help="How many synthetic records.")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--model", default=None, help="Model URI or folder; default rules only.")
    parser.add_argument("--rules-only", action="store_true", help="Rules only (the default without --model).")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--quantize", action="store_true", help="int8 model weights")
    parser.add_argument("--model-in-workers", action="store_true", help="run the model in the workers too")
    parser.add_argument(
        "--model-gate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the encoder reads only the entries the entry gate opens (the scan's default)",
    )
    parser.add_argument("--model-threads", type=int, default=1, help="torch threads for the model")
    parser.add_argument(
        "--rules-config", default=None, help="a rules config (e.g. a frozen copy of the rules)"
    )
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--profile", default=None)
    parser.add_argument(
        "--work", default=None, help="Folder for the generated data (default: a temp folder)."
    )
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        records, crimes, out, workers, model = args.child
        row = one_run(
            records,
            crimes,
            out,
            int(workers),
            None if model == "-" else model,
            args.batch_size,
            args.quantize,
            args.rules_config,
            args.model_in_workers,
            args.model_gate,
            args.model_threads,
        )
        print(json.dumps(row))
        return

    work = Path(args.work or tempfile.mkdtemp(prefix="bench_scan_"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    records, crimes = generate(work, args.records, args.seed, args.profile)
    print(
        f"data: {records} ({records.stat().st_size / 1e6:.1f} MB), "
        f"generated/cached in {time.perf_counter() - t0:.1f}s"
    )
    model = None if args.rules_only else args.model
    rows = []
    for workers in args.workers:
        load_before = os.getloadavg()[0]
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--batch-size",
                str(args.batch_size),
                *(["--quantize"] if args.quantize else []),
                *(["--model-in-workers"] if args.model_in_workers else []),
                "--model-gate" if args.model_gate else "--no-model-gate",
                "--model-threads",
                str(args.model_threads),
                *(["--rules-config", args.rules_config] if args.rules_config else []),
                "--child",
                str(records),
                str(crimes),
                str(work / f"flags-w{workers}.jsonl"),
                str(workers),
                model or "-",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        row = json.loads(child.stdout.strip().splitlines()[-1])
        row["load_before"], row["load_after"] = round(load_before, 2), round(os.getloadavg()[0], 2)
        rows.append(row)
    same = len({(work / f"flags-w{w}.jsonl").read_bytes() for w in args.workers}) == 1
    if len({json.dumps(row["versions"], sort_keys=True) for row in rows}) > 1:
        print("warning: the rules or model changed between runs (versions differ); use --rules-config")
    mode = "rules only"
    if model:
        mode = (
            f"model {model}"
            + (" int8" if args.quantize else "")
            + (" in workers" if args.model_in_workers else "")
            + (" gated" if args.model_gate else " every entry")
            + f" {args.model_threads} thread(s)"
        )
    print(f"\nscan benchmark: {args.records} synthetic records, {mode}, {os.cpu_count()} CPUs")
    print(
        f"{'workers':>7} {'seconds':>8} {'rec/s':>8} {'peak MiB main':>13} {'peak MiB worker':>15} "
        f"{'load 1m before/after':>21} {'300k projection':>16}"
    )
    for row in rows:
        projection = FORCE_YEAR / row["records_per_s"] / 60
        print(
            f"{row['workers']:>7} {row['seconds']:>8} {row['records_per_s']:>8} {row['peak_mib_main']:>13} "
            f"{row['peak_mib_worker']:>15} {row['load_before']:>10}/{row['load_after']:<10} "
            f"{projection:>12.1f} min"
        )
    print(f"flags identical across worker counts: {same}; versions: {rows[0]['versions']}")


if __name__ == "__main__":
    main()

"""Benchmark the Spark engine against the local engine: records/s, peak memory, same bytes.

Writes N synthetic records with ``crimedetect synth`` once (cached by size and seed), then
runs each engine in a fresh process: ``--engine local`` (run_scan, 1 worker) and
``--engine spark`` on ``local[K]`` (run_spark_scan). Peak memory is the largest resident
set of the whole process tree (driver, JVM, Python workers), sampled every 0.2 s. Spark's
time is given in full and without the session start (JVM + Python workers), which a
cluster pays once per job. Ends with a scaling note for 30 million records from the
measured per-core rate. The machine is shared: the load average is printed with each run.

    .venv/bin/python benchmarks/bench_spark.py --records 2000 --rules-only
    .venv/bin/python benchmarks/bench_spark.py --records 2000 5000 --master 'local[2]' --rules-only
    .venv/bin/python benchmarks/bench_spark.py --records 1000 \
        --model models:/crimedetect-offence-classifier@champion
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

NATIONAL = 30_000_000


def generate(folder: Path, n: int, seed: int) -> tuple[Path, Path]:
    """records.jsonl and crimes.jsonl for ``n`` synthetic records, via ``crimedetect synth``."""
    target = folder / f"synth-{n}-{seed}"
    records, crimes = target / "records.jsonl", target / "crimes.jsonl"
    if not (records.exists() and crimes.exists()):
        exe = Path(sys.executable).with_name("crimedetect")
        subprocess.run(
            [str(exe), "synth", "--records", str(n), "--seed", str(seed), "--out", str(target)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return records, crimes


def one_run(
    engine: str, records: str, crimes: str, out: str, model: str | None, master: str, rules_config: str | None
) -> dict:
    """One scan in this (child) process; prints its numbers as JSON."""
    start = time.perf_counter()
    if engine == "local":
        from crimedetect.scan import run_scan

        summary = run_scan(
            records, crimes, out, model_uri=model, rules_only=model is None, rules_config=rules_config
        )
        session = 0.0
    else:
        from crimedetect.engines.spark import create_session, run_spark_scan, stop_session

        spark = create_session(master)
        spark.range(1).count()  # the JVM is up and a job has run
        session = time.perf_counter() - start
        try:
            summary = run_spark_scan(
                records, crimes, out, model_uri=model, rules_only=model is None, spark=spark
            )
        finally:
            stop_session(spark)
    seconds = time.perf_counter() - start
    return {
        "engine": engine,
        "records": summary.written,
        "seconds": seconds,
        "session_seconds": session,
        "balanced": summary.balanced,
        "pipelines_built": getattr(getattr(summary, "spark", None), "pipelines_built", None),
        "worker_seconds": getattr(getattr(summary, "spark", None), "worker_seconds", None),
    }


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def measured(args: list[str]) -> tuple[dict, int]:
    """Run this script as a child with ``args``; its result and the peak RSS of its tree."""
    child = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.2):
            peak = max(peak, _tree_rss(child.pid))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    output, _ = child.communicate()
    stop.set()
    thread.join()
    if child.returncode != 0:
        raise SystemExit(f"benchmark child failed ({child.returncode})")
    return json.loads(output.strip().splitlines()[-1]), peak


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, nargs="+", default=[2000])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--model", help="model folder or models:/ URI (default: rules only)")
    parser.add_argument("--rules-config", help="a rules config (e.g. pointing at a frozen copy of the rules)")
    parser.add_argument("--rules-only", action="store_true", help="the default; kept for symmetry")
    parser.add_argument("--work", type=Path, help="folder for inputs and outputs (default: a temp folder)")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        engine, records, crimes, out, model = args.child
        model_uri = None if model == "-" else model
        print(json.dumps(one_run(engine, records, crimes, out, model_uri, args.master, args.rules_config)))
        return

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-spark-"))
    cores = int(args.master[args.master.find("[") + 1 : args.master.find("]")]) if "[" in args.master else 1
    model = args.model or "none (rules only)"
    print(f"machine: {os.cpu_count()} cores, shared; spark master {args.master}; model {model}")
    header = (
        f"{'engine':<18}{'records':>8}{'seconds':>9}{'rec/s':>8}{'rec/s*':>8}{'peak MiB':>10}{'built':>6}"
    )
    print(header)
    per_core: list[float] = []
    pipeline_rates: list[float] = []
    for n in args.records:
        records, crimes = generate(work, n, args.seed)
        outs = {}
        for engine in ("local", "spark"):
            out = work / f"out-{engine}-{n}" / "flags.jsonl"
            load = os.getloadavg()[0]
            options = ["--master", args.master] + (
                ["--rules-config", args.rules_config] if args.rules_config else []
            )
            result, peak = measured(
                [*options, "--child", engine, str(records), str(crimes), str(out), args.model or "-"]
            )
            outs[engine] = out
            rate = result["records"] / result["seconds"]
            steady = result["records"] / max(result["seconds"] - result["session_seconds"], 1e-9)
            name = engine if engine == "local" else f"spark {args.master}"
            built = result["pipelines_built"] or "-"
            print(
                f"{name:<18}{result['records']:>8}{result['seconds']:>9.1f}{rate:>8.1f}{steady:>8.1f}"
                f"{peak / 2**20:>10.0f}{built:>6}  load {load:.1f}->{os.getloadavg()[0]:.1f}"
            )
            if engine == "spark":
                per_core.append(steady / cores)
                busy = sum((result["worker_seconds"] or {}).values())
                if busy:
                    pipeline_rates.append(result["records"] / busy)
                    print(f"{'':<18}python workers busy {busy:.1f} s: {result['worker_seconds']}")
        same = filecmp.cmp(outs["local"], outs["spark"], shallow=False)
        print(f"{'':<18}flags byte-identical: {same}")
    print("rec/s* = without the Spark session start (JVM, first job); peak = whole process tree")
    if per_core:
        rate = min(per_core)
        pipeline = min(pipeline_rates) if pipeline_rates else rate
        print(f"\nscaling note ({NATIONAL:,} records), from this shared machine's rates per core:")
        print(f"  end to end (incl. JVM start, shuffles, sorting): {rate:.1f} records/s per core")
        print(f"  in the Python workers (parse + detect + reconcile): {pipeline:.1f} records/s per core")
        for executors, cores_each in ((10, 4), (25, 4), (50, 4), (100, 4)):
            total = executors * cores_each
            slow, fast = NATIONAL / (rate * total) / 3600, NATIONAL / (pipeline * total) / 3600
            print(f"  {executors:>3} executors x {cores_each} cores: {fast:.1f}-{slow:.1f} h")


if __name__ == "__main__":
    main()

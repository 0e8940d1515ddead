"""Rules-only throughput: records/s and words/s on synthetic ~150-word records, and peak memory.

    .venv/bin/python benchmarks/bench_rules.py --records 3000 --words 150 --processes 2

Records are made from police-log-like sentence templates (fixed seed), so the run needs no
data files. Peak memory is the largest resident set of this process and its workers.

On a shared machine wall time depends on the others' load; CPU time does not. So the CPU
seconds each process (this one, which detects a share too, and each worker) spent in the
timed run are printed too, and the cpu-bound rate: records over the busiest process's CPU
seconds, the rate with a free core per process and no waiting.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import time
from datetime import UTC, datetime, timedelta

from crimedetect.contract import Entry, Record
from crimedetect.rules import RuleDetector

SENTENCES = [
    "RP {first} {surname} states her ex partner {first2} {surname2} has punched her in the face.",
    "IP has swelling and bruising to left cheekbone, declined ambulance.",
    "He keeps messaging her, over 30 texts calling her a sl*g and saying she'll be sorry.",
    "No injuries, no weapons mentioned, no threats made.",
    "A/O at 2140hrs, s/o left the address in a silver Transit part VRM EK09.",
    "DASH completed - MEDIUM. PPN to follow. Children checked and safe.",
    "Her car has been scratched down both sides overnight and the wing mirror smashed.",
    "She states he threatened to kill her and she thought he was going to hit her.",
    "Susp arrested on susp of assault, conveyed to Marsham custody, interviewed and bailed.",
    "Store detective has male detained, seen on CCTV leaving past tills without paying.",
    "IP does not want police action but the crime is recorded, words of advice given.",
    "Neighbour heard shouting and a bang, nothing seen, RP doesnt want to be visited.",
    "Spoke to IP by phone, account confirmed, statement to be obtained tomorrow.",
    "He fell and hit his head on the radiator, no one else involved, no offences.",
]
FIRST = ["Leanne", "Craig", "Stacey", "Dean", "Natalie", "Shane", "Amy", "Paul", "Kirsty", "Jamie"]
SURNAME = ["HOLLIS", "BRIGHTWELL", "KAVANAGH", "DRUCE", "MOSELEY", "CARTWRIGHT", "ANDREWS", "FOULKES"]


def make_records(n: int, words: int, seed: int = 7) -> list[Record]:
    """n records of about ``words`` words each, in two to four entries."""
    rng = random.Random(seed)
    start = datetime(2017, 1, 1, tzinfo=UTC)
    records = []
    for i in range(n):
        sentences: list[str] = []
        while sum(len(s.split()) for s in sentences) < words:
            sentences.append(
                rng.choice(SENTENCES).format(
                    first=rng.choice(FIRST),
                    surname=rng.choice(SURNAME),
                    first2=rng.choice(FIRST),
                    surname2=rng.choice(SURNAME),
                )
            )
        parts = rng.randint(2, 4)
        chunk = -(-len(sentences) // parts)
        entries = [
            Entry(at=start + timedelta(minutes=30 * j), text=" ".join(sentences[j * chunk : (j + 1) * chunk]))
            for j in range(parts)
            if sentences[j * chunk : (j + 1) * chunk]
        ]
        records.append(Record(record_id=f"BENCH-{i:06d}", entries=entries))
    return records


def peak_rss_mib() -> tuple[float, float]:
    """Peak resident memory (MiB) of this process and of its largest finished child."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def process_cpu() -> dict[int, float]:
    """CPU seconds (user + system) so far of this process and of each live child, by pid."""
    import psutil

    me = psutil.Process()
    cpu = {}
    for proc in [me, *me.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        cpu[proc.pid] = times.user + times.system
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--words", type=int, default=150)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=1, help="time the run this many times; report the best")
    parser.add_argument(
        "--rules-config",
        default=None,
        help="a rules config file (default: the packaged rules); fixes the rules between runs",
    )
    args = parser.parse_args()
    records = make_records(args.records, args.words)
    n_words = sum(len(e.text.split()) for r in records for e in r.entries)
    detector = RuleDetector(args.rules_config, n_process=args.processes, batch_size=args.batch_size)
    t0 = time.perf_counter()
    # Build the pipeline, and start the worker processes (each builds its own), untimed:
    # a long scan pays that once.
    detector.detect(records[: max(50, 2 * args.batch_size * args.processes)])
    build = time.perf_counter() - t0
    elapsed = cpu = float("inf")
    busiest: dict[int, float] = {}
    for _ in range(args.repeat):
        before = process_cpu()
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        found = detector.detect(records)
        seconds = time.perf_counter() - t0
        cpu = min(cpu, time.process_time() - cpu0)
        after = process_cpu()
        spent = {pid: after[pid] - before.get(pid, 0.0) for pid in after}
        if seconds < elapsed:
            elapsed, busiest = seconds, spent
    detector.close()
    own, children = peak_rss_mib()
    print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cpus")
    print(f"pipeline build and worker start: {build:.2f}s; rules version {detector.version}")
    print(f"records: {len(records)}, words/record: {n_words / len(records):.0f}, processes: {args.processes}")
    print(f"disclosures: {sum(len(f) for f in found)}")
    print(
        f"throughput: {len(records) / elapsed:,.0f} records/s, "
        f"{n_words / elapsed:,.0f} words/s ({elapsed:.2f}s wall)"
    )
    if args.processes == 1:
        print(f"cpu-bound: {len(records) / cpu:,.0f} records/s per core ({cpu:.2f}s cpu)")
    else:
        main_cpu = busiest.pop(os.getpid(), 0.0)
        workers = " ".join(f"{c:.2f}" for c in sorted(busiest.values(), reverse=True))
        most = max([main_cpu, *busiest.values()])
        print(f"cpu (fastest run): main {main_cpu:.2f}s, workers {workers}s")
        print(f"cpu-bound: {len(records) / most:,.0f} records/s (busiest process {most:.2f}s cpu)")
    print(f"peak memory: main {own:.0f} MiB, largest worker {children:.0f} MiB")


if __name__ == "__main__":
    main()

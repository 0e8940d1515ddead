"""Coverage study of the audit designs: repeated audits of a synthetic force with known truth.

Usage: python benchmarks/bench_audit_simulation.py [--repeats 200] [--budget 1800]
       [--records 150000] [--seed 0] [--profile PATH] [--json out.json]
       [--flags flags.jsonl --audits audits.jsonl --crimes crimes.jsonl]

With --flags, the population is a real scan of full-truth data (e.g. `crimedetect synth`
output): the scan's own priorities, the audits' truth.

The population is simulated from ``crimedetect/audit/simulation_profile.yaml`` (records with
their true crimes, recording outcomes and an emulated scan's priority); see
``crimedetect.audit.simulate``. Prints, per design and domain: the true rate, the mean
estimate, 95% interval coverage, mean half-width and unrecorded crimes found per 100 audited
records; then audited records/s, peak memory and the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

from rich.console import Console

from crimedetect.audit.simulate import (
    Population,
    coverage_study,
    load_profile,
    population_from_truth,
    simulate_population,
    study_markdown,
    study_table,
)


def _population_from_files(flags: Path, audits: Path | None, crimes: Path | None) -> Population:
    """Truth from full audits (e.g. `crimedetect synth` output), priorities from a real scan."""
    from crimedetect.evaluate.truth import truths_for
    from crimedetect.io import read_contract

    if audits is None:
        raise SystemExit("--flags needs --audits (the full truth of every flagged record)")
    crime_list = list(read_contract(crimes, "crimes")) if crimes else None
    truths = truths_for(read_contract(audits, "audits"), crime_list)
    return population_from_truth(read_contract(flags, "flags"), truths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--budget", type=int, default=1800)
    parser.add_argument("--records", type=int, default=None, help="population size (default: the profile's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--flags", type=Path, default=None, help="a real scan's flags (instead of simulating)"
    )
    parser.add_argument("--audits", type=Path, default=None, help="full-truth audits of every flagged record")
    parser.add_argument("--crimes", type=Path, default=None)
    args = parser.parse_args()

    start = time.perf_counter()
    if args.flags:
        population = _population_from_files(args.flags, args.audits, args.crimes)
    else:
        population = simulate_population(load_profile(args.profile), seed=args.seed, records=args.records)
    built = time.perf_counter() - start
    truth, results = coverage_study(population, budget=args.budget, repeats=args.repeats, seed=args.seed + 1)
    elapsed = time.perf_counter() - start
    console = Console(width=150)
    console.print(study_table(truth, results))
    print()
    print(study_markdown(truth, results))
    by = {r.design: r for r in results}
    if "srs" in by and "stratified" in by:
        ratio = by["stratified"].mean_half_width["overall"] / by["srs"].mean_half_width["overall"]
        print(f"\nstratified / srs half-width (overall): {ratio:.2f}")
    if "srs" in by and "priority" in by and by["srs"].unrecorded_found_per_100:
        ratio = by["priority"].unrecorded_found_per_100 / by["srs"].unrecorded_found_per_100
        print(f"priority / srs unrecorded found per 100 audited: {ratio:.1f}x")
    audited = args.repeats * args.budget * len(results)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\npopulation {len(population.frame):,} records built in {built:.2f}s; "
        f"{args.repeats} repeats x {len(results)} designs in {elapsed - built:.1f}s "
        f"({audited / max(elapsed - built, 1e-9):,.0f} audited records/s); peak memory {peak_mib:,.0f} MiB; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "truth": truth,
                    "results": [r.to_json_dict() for r in results],
                    "args": {k: str(v) for k, v in vars(args).items()},
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()

"""``crimedetect audit sample|estimate|simulate``: audit samples and honest recording-rate estimates."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from crimedetect.cli.common import EXIT_DATA_PROBLEMS, EXIT_OK, EXIT_USAGE, console, stats_table, track
from crimedetect.io import ContractFileError, ReadStats, RejectedLines, read_contract

audit_app = typer.Typer(
    help="Audit samples (srs, stratified, priority worklist) and design-based recording-rate estimates.",
    no_args_is_help=True,
)


def _results() -> Console:
    """Result tables go to stdout, wide enough not to wrap."""
    return Console(width=max(console.width, 150))


def _pct(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.1f}%"


@audit_app.command("sample")
def sample(
    flags: Path = typer.Option(
        ..., "--flags", help="flags.jsonl of the scanned period (the sampling frame)."
    ),
    budget: int = typer.Option(..., "--budget", min=1, help="How many records the auditors can audit."),
    design: str = typer.Option("stratified", "--design", help="srs | stratified | priority."),
    seed: int = typer.Option(0, "--seed", help="Random seed (srs, stratified)."),
    out: Path = typer.Option(
        Path("sample.csv"), "--out", help="The sample: record ids and inclusion probabilities."
    ),
    config: Path | None = typer.Option(
        None, "--config", help="Audit settings YAML (default: packaged design.yaml)."
    ),
    rejected: Path | None = typer.Option(None, "--rejected", help="Write rejected flag lines here (JSONL)."),
) -> None:
    """Draw the records to audit, each with its inclusion probability.

    srs and stratified (priority bands x offence family, Neyman allocation) are probability
    samples for an estimate; priority is the top-N worklist for finding missed crimes (no
    estimate). Exits 1 if flag lines were rejected.
    """
    from crimedetect.audit.config import AuditConfigError, load_audit_config
    from crimedetect.audit.design import DESIGNS, AuditSampler, frame_from_flags
    from crimedetect.audit.files import write_sample

    if design not in DESIGNS:
        console.print(f"[red]error:[/red] --design must be one of {', '.join(DESIGNS)}")
        raise typer.Exit(EXIT_USAGE)
    try:
        settings = load_audit_config(config)
    except AuditConfigError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    stats = ReadStats(str(flags))
    try:
        with RejectedLines(rejected) as sink:
            frame = frame_from_flags(
                track(read_contract(flags, "flags", rejected=sink, stats=stats), "reading flags"), settings
            )
    except ContractFileError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    console.print(stats_table([stats], title="Sampling frame"))
    if len(frame) == 0:
        console.print("[red]error:[/red] no valid flag lines to sample from")
        raise typer.Exit(EXIT_DATA_PROBLEMS)
    try:
        sampler = AuditSampler(design, budget, random_state=seed, config=settings).fit(frame)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    drawn = sampler.sample()
    written = write_sample(out, frame, sampler, drawn, seed if design != "priority" else None)

    table = Table(title=f"{design} sample of {written} from {len(frame)} records")
    for column in ("stratum", "N_h", "n_h", "inclusion probability"):
        table.add_column(column, justify="left" if column == "stratum" else "right")
    for name, size in sampler.stratum_sizes_.items():
        n_h = sampler.allocation_[name]
        table.add_row(name, str(size), str(n_h), "top-N" if design == "priority" else f"{n_h / size:.4f}")
    _results().print(table)
    if design == "priority":
        console.print(
            "[yellow]priority worklist:[/yellow] finds missed crimes fast; it gives NO recording-rate "
            "estimate (use --design stratified or srs for that)"
        )
    console.print(f"wrote {written} records to {out}")
    raise typer.Exit(EXIT_DATA_PROBLEMS if stats.rejected else EXIT_OK)


@audit_app.command("estimate")
def estimate(
    sample_file: Path = typer.Option(..., "--sample", help="sample.csv written by `audit sample`."),
    audits: Path = typer.Option(..., "--audits", help="audits.jsonl: verdicts on the sampled records."),
    crimes: Path | None = typer.Option(
        None, "--crimes", help="crimes.jsonl: judges cancellations and N100s."
    ),
    records: Path | None = typer.Option(None, "--records", help="records.jsonl: judges timeliness."),
    recorded_crimes_12m: int | None = typer.Option(
        None, "--recorded-crimes-12m", min=1, help="Recorded crime in 12 months, for U = R(1-p)/p."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Write the estimate as JSON (for `crimedetect report`)."
    ),
    config: Path | None = typer.Option(None, "--config", help="Audit settings YAML (default: packaged)."),
    rejected: Path | None = typer.Option(None, "--rejected", help="Write rejected input lines here (JSONL)."),
) -> None:
    """Recording rate overall, for violence, sexual offences and rape, with design-based 95% intervals.

    A stratified ratio estimator with its linearised variance; with --recorded-crimes-12m,
    the unrecorded crimes a year U = R(1-p)/p with its interval. Exits 1 if input lines were
    rejected or sampled records are not audited yet.
    """
    from crimedetect.audit.config import AuditConfigError, load_audit_config
    from crimedetect.audit.files import SampleFileError, estimate_from_sample, read_sample
    from crimedetect.evaluate.inputs import read_kept

    try:
        settings = load_audit_config(config)
        rows = read_sample(sample_file)
    except (AuditConfigError, SampleFileError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    wanted = {r.record_id for r in rows}
    all_stats: list[ReadStats] = []
    try:
        with RejectedLines(rejected) as sink:
            audit_list = read_kept(audits, "audits", lambda a: a.record_id in wanted, sink, all_stats)
            referenced = {c.crime_id for a in audit_list for c in a.crimes if c.crime_id}
            crime_list = None
            if crimes is not None:
                crime_list = read_kept(
                    crimes,
                    "crimes",
                    lambda c: c.crime_id in referenced or any(rid in wanted for rid in c.record_ids),
                    sink,
                    all_stats,
                )
            record_map = None
            if records is not None:
                record_map = {
                    r.record_id: r
                    for r in read_kept(records, "records", lambda r: r.record_id in wanted, sink, all_stats)
                }
    except ContractFileError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from exc
    console.print(stats_table(all_stats, title="Estimate inputs"))
    result = estimate_from_sample(
        rows, audit_list, crime_list, record_map, recorded_crimes_12m=recorded_crimes_12m, config=settings
    )

    table = Table(
        title=f"Recording rate: {result.design} sample, {result.audited} of {result.sample_size} "
        f"audited, population {result.population} records"
    )
    for column in (
        "domain",
        "crimes audited",
        "recorded",
        "rate",
        f"{int(100 * result.confidence)}% interval",
        "+/-",
    ):
        table.add_column(column, justify="left" if column == "domain" else "right")
    for name, est in result.domains.items():
        interval = "-" if est.low is None else f"{_pct(est.low)} - {_pct(est.high)}"
        half = "-" if est.half_width is None else f"{100 * est.half_width:.2f}"
        table.add_row(name, str(est.crimes), str(est.recorded), _pct(est.rate), interval, half)
    _results().print(table)
    console.print(
        f"unrecorded crimes found: {result.unrecorded_found} "
        f"({result.unrecorded_found_per_100:.1f} per 100 audited records)"
    )
    if result.unrecorded_per_year:
        u = result.unrecorded_per_year
        console.print(
            f"unrecorded crimes a year U = R(1-p)/p: {u['estimate']:,.0f} "
            f"({u['low']:,.0f} - {u['high']:,.0f}) from R = {u['recorded_crimes_12m']:,}"
        )
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    for name, est in result.domains.items():
        for note in est.notes:
            console.print(f"[yellow]note ({name}):[/yellow] {note}")
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result.to_json_dict(), indent=2, default=_json_default), encoding="utf-8")
        console.print(f"estimate written to {out}")
    problems = sum(s.rejected for s in all_stats) or result.not_audited
    raise typer.Exit(EXIT_DATA_PROBLEMS if problems else EXIT_OK)


def _json_default(value: object) -> object:
    return str(value)


@audit_app.command("simulate")
def simulate(
    repeats: int = typer.Option(200, "--repeats", min=1, help="Repeated audits per design."),
    budget: int = typer.Option(1800, "--budget", min=10, help="Records audited each time."),
    records: int | None = typer.Option(None, "--records", help="Population size (default: the profile's)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the population and the samples."),
    profile: Path | None = typer.Option(
        None, "--profile", help="Simulation profile YAML (default: packaged)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Write the results as JSON."),
) -> None:
    """Coverage study: repeated audits of a synthetic force with known truth, per design."""
    from crimedetect.audit.simulate import coverage_study, load_profile, simulate_population, study_table

    population = simulate_population(load_profile(profile), seed=seed, records=records)
    truth, results = coverage_study(population, budget=budget, repeats=repeats, seed=seed + 1)
    _results().print(study_table(truth, results))
    if out:
        out.write_text(
            json.dumps({"truth": truth, "results": [r.to_json_dict() for r in results]}, indent=2),
            encoding="utf-8",
        )
        console.print(f"results written to {out}")
    raise typer.Exit(EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add the ``crimedetect audit`` sub-app."""
    app.add_typer(audit_app, name="audit")

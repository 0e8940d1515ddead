"""The ``crimedetect`` command line.

Exit codes are the same for every command: 0 ok, 1 data problems found (rejected lines,
failed checks), 2 usage error. Each stage registers its commands from its own module in
this package, so this file stays a table of contents.
"""

from __future__ import annotations

import typer

from crimedetect import __version__
from crimedetect.cli import (  # noqa: E402  (one module per stage)
    audit,
    evaluate,
    models,
    report,
    review,
    rules,
    scan,
    synth,
    train,
    validate,
)
from crimedetect.cli.common import EXIT_OK

app = typer.Typer(
    name="crimedetect",
    help="Find crimes that incident logs disclose but crime records miss (HOCR / NCRS).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"crimedetect {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """crimedetect: under-recorded crime detection for police incident logs."""


for module in (validate, synth, rules, train, models, scan, evaluate, audit, report, review):
    module.register(app)


def run() -> None:
    """Console-script entry point."""
    app()

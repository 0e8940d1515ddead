"""What every command shares: the console, read summaries, progress bars, exit codes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from crimedetect.io import ReadStats

EXIT_OK = 0
EXIT_DATA_PROBLEMS = 1
EXIT_USAGE = 2

console = Console(stderr=True)
T = TypeVar("T")


def stats_table(all_stats: Iterable[ReadStats], title: str = "Input") -> Table:
    """A table of read / accepted / rejected per file, with the rejection reasons."""
    table = Table(title=title)
    for column in ("file", "read", "accepted", "rejected", "reasons"):
        table.add_column(column, justify="right" if column in ("read", "accepted", "rejected") else "left")
    for stats in all_stats:
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(stats.reasons.items())) or "-"
        table.add_row(stats.file, str(stats.read), str(stats.accepted), str(stats.rejected), reasons)
    return table


class RateColumn(ProgressColumn):
    """Items per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "-/s", style="progress.data.speed")


def track(
    items: Iterable[T], description: str, total: int | None = None, *, enabled: bool = True
) -> Iterator[T]:
    """Yield items while drawing a progress bar with rate and ETA on stderr."""
    if not enabled:
        yield from items
        return
    columns = [
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)

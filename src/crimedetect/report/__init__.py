"""The inspection-style HTML report (``crimedetect report``): self-contained, charts inline."""

from crimedetect.report.build import (
    SECTIONS,
    build_context,
    load_estimate,
    render,
    summarise_flags,
    write_report,
)

__all__ = ["SECTIONS", "build_context", "load_estimate", "render", "summarise_flags", "write_report"]

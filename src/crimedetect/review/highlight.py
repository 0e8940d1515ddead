"""Split entry texts into plain and highlighted segments for the record page.

Evidence spans are (entry index, start, end) character offsets into an entry's text.
Spans may overlap (two categories citing the same words); the text is cut at every span
boundary and each segment carries the categories covering it. The template escapes each
segment's text, so nothing in a record can become markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Span:
    """One evidence span to highlight, with the disclosure it supports."""

    entry: int
    start: int
    end: int
    category: str
    disclosure: int
    text: str = ""


@dataclass
class Segment:
    """A run of an entry's text and the categories (if any) highlighting it."""

    text: str
    categories: tuple[str, ...] = ()
    #: Categories whose span starts here: the label is drawn once, at the start of a span.
    labels: tuple[str, ...] = ()

    @property
    def highlighted(self) -> bool:
        return bool(self.categories)


@dataclass
class EntryView:
    """An entry ready to render."""

    index: int
    at: str
    author: str | None
    segments: list[Segment]
    categories: list[str] = field(default_factory=list)


def locate(span: Span, text: str) -> Span | None:
    """The span as found in ``text``: its offsets if they hold its text (or hold any text
    when none is given), else the first occurrence of its text; None if it is not there."""
    in_range = 0 <= span.start < span.end <= len(text)
    if in_range and (not span.text or text[span.start : span.end] == span.text):
        return span
    if span.text:
        at = text.find(span.text)
        if at >= 0:
            return Span(span.entry, at, at + len(span.text), span.category, span.disclosure, span.text)
    return None


def segment(text: str, spans: Sequence[Span]) -> list[Segment]:
    """Cut ``text`` at every span boundary; spans must already lie within the text."""
    cuts = sorted({0, len(text), *(s.start for s in spans), *(s.end for s in spans)})
    segments: list[Segment] = []
    for left, right in zip(cuts, cuts[1:], strict=False):
        if left == right:
            continue
        covering = [s for s in spans if s.start <= left and right <= s.end]
        categories = tuple(dict.fromkeys(s.category for s in covering))
        labels = tuple(dict.fromkeys(s.category for s in covering if s.start == left))
        segments.append(Segment(text[left:right], categories, labels))
    return segments


def entry_views(
    record: dict[str, Any], disclosed: Sequence[dict[str, Any]]
) -> tuple[list[EntryView], list[Span]]:
    """Entries in order with their evidence highlighted, and the spans that could not be
    placed (bad entry index, or text not found) so the page can still show them."""
    entries = record.get("entries", [])
    by_entry: dict[int, list[Span]] = {}
    unplaced: list[Span] = []
    for d_index, disclosure in enumerate(disclosed):
        for evidence in disclosure.get("evidence", []):
            span = Span(
                int(evidence.get("entry", -1)),
                int(evidence.get("start", 0)),
                int(evidence.get("end", 0)),
                str(disclosure.get("category", "")),
                d_index,
                str(evidence.get("text") or ""),
            )
            if not 0 <= span.entry < len(entries):
                unplaced.append(span)
                continue
            placed = locate(span, str(entries[span.entry].get("text", "")))
            if placed is None:
                unplaced.append(span)
            else:
                by_entry.setdefault(span.entry, []).append(placed)
    views = []
    for index, entry in enumerate(entries):
        spans = by_entry.get(index, [])
        views.append(
            EntryView(
                index=index,
                at=str(entry.get("at", "")),
                author=entry.get("author"),
                segments=segment(str(entry.get("text", "")), spans),
                categories=list(dict.fromkeys(s.category for s in spans)),
            )
        )
    return views, unplaced

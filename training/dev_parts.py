"""Write a labelled folder with one part of the dev set plus other labelled folders.

The rules were written against the ``development`` part of the dev set
(:func:`crimedetect.rules.quality.part`); the ``held_out`` third stays untouched. This script
writes ``records.jsonl``, ``crimes.jsonl`` and ``audits.jsonl`` holding only the dev records
of one part, plus the records of extra labelled folders (optionally only ids with given
prefixes), so a model trained on "the hand-written records" is reproducible without the
held-out third (training/configs/handwritten.yaml).

Lines are copied as they are: only ``record_id`` (and a crime's ``record_ids``) is looked at;
no text is printed. A crime is kept when any of its records is kept.

Run:
    python training/dev_parts.py --out out/handwritten \\
        --extra data/blind --id-prefix BL-A- BL-B- BL-C-
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from crimedetect.rules.quality import DEVELOPMENT, HELD_OUT, part

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DEV = ROOT.parent / "shared" / "data" / "dev"
FILES = ("records.jsonl", "crimes.jsonl", "audits.jsonl")


def _ids(line: str, key: str) -> list[str]:
    """The record ids a JSONL line names (``record_id`` or a crime's ``record_ids``)."""
    data = json.loads(line)
    value = data.get(key)
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def select_lines(folder: Path, keep: Callable[[str], bool]) -> tuple[dict[str, list[str]], set[str]]:
    """Lines of each file of a labelled folder whose records ``keep`` accepts; and the kept ids."""
    kept_ids: set[str] = set()
    out: dict[str, list[str]] = {name: [] for name in FILES}
    for name in FILES:
        path = folder / name
        if not path.exists():
            if name == "crimes.jsonl":
                continue
            raise FileNotFoundError(f"{path} does not exist")
        key = "record_ids" if name == "crimes.jsonl" else "record_id"
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            ids = _ids(line, key)
            if any(keep(i) for i in ids):
                out[name].append(line)
                if name == "records.jsonl":
                    kept_ids.update(ids)
    return out, kept_ids


def write_parts(
    out_dir: Path,
    dev: Path | None,
    dev_part: str,
    extra: Sequence[Path],
    id_prefixes: Sequence[str],
) -> dict[str, int]:
    """Write the folder; returns how many lines of each file were written."""
    sources = []
    if dev is not None:
        sources.append(select_lines(dev, lambda rid: part(rid) == dev_part))
    for folder in extra:
        sources.append(
            select_lines(folder, lambda rid: not id_prefixes or rid.startswith(tuple(id_prefixes)))
        )
    seen: set[str] = set()
    for _, ids in sources:
        if seen & ids:
            raise ValueError(f"{len(seen & ids)} record ids occur in more than one source folder")
        seen |= ids
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name in FILES:
        lines = [line for lines, _ in sources for line in lines[name]]
        (out_dir / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        counts[name] = len(lines)
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write (e.g. out/handwritten)")
    parser.add_argument(
        "--dev", type=Path, default=DEFAULT_DEV, help=f"dev set folder (default {DEFAULT_DEV})"
    )
    parser.add_argument("--no-dev", action="store_true", help="write only the extra folders")
    parser.add_argument(
        "--part", choices=[DEVELOPMENT, HELD_OUT], default=DEVELOPMENT, help="dev part to keep"
    )
    parser.add_argument("--extra", type=Path, nargs="*", default=[], help="other labelled folders")
    parser.add_argument(
        "--id-prefix", nargs="*", default=[], help="keep only these record id prefixes of --extra folders"
    )
    args = parser.parse_args(argv)
    try:
        counts = write_parts(
            args.out, None if args.no_dev else args.dev, args.part, args.extra, args.id_prefix
        )
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = ", ".join(f"{name} {n}" for name, n in counts.items())
    print(f"{args.out}: {summary} lines (dev part {'-' if args.no_dev else args.part})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

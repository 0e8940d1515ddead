"""Streaming readers and writers for contract files, with full accounting.

JSON Lines, CSV and Parquet are read a line (or a Parquet batch) at a time, so a file of
many gigabytes is never held in memory. A bad line never stops a run and is never dropped
silently: it goes to a rejected-lines file with its file, line number, field and reason,
and every read keeps ``read == accepted + rejected``.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from pydantic import ValidationError

from crimedetect.contract import KINDS, ContractModel

T = TypeVar("T")

#: Lines longer than this (bytes) are rejected unread; ``--max-line-bytes`` changes it.
DEFAULT_MAX_LINE_BYTES = 8 * 1024 * 1024
#: How much of a rejected line is copied into the rejected-lines file.
RAW_EXCERPT_CHARS = 2000

#: Top-level fields that hold JSON text in CSV and Parquet files.
NESTED_FIELDS = frozenset(
    {"entries", "linked_record_ids", "record_ids", "crimes", "disclosed", "findings", "crime_ids"}
)

FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}


class ContractFileError(Exception):
    """A file that cannot be read at all (missing, unknown format or kind)."""


@dataclass(frozen=True)
class Rejection:
    """Why one input line was not accepted."""

    file: str
    line: int
    field: str
    reason: str
    message: str
    raw: str = ""

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "field": self.field,
            "reason": self.reason,
            "message": self.message,
            "raw": self.raw,
        }

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.reason}: {self.message}"


@dataclass
class ReadStats:
    """Counts for one file: ``read == accepted + rejected`` always holds."""

    file: str
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    first_errors: list[Rejection] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.read == self.accepted + self.rejected

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "read": self.read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "reasons": dict(sorted(self.reasons.items())),
        }


class RejectedLines:
    """A JSON Lines sink for rejected input lines; appends so a resumed run keeps history."""

    def __init__(self, path: str | Path | None, *, append: bool = False) -> None:
        self.path = Path(path) if path else None
        self.count = 0
        self._handle: IO[str] | None = None
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a" if append else "w", encoding="utf-8")

    def write(self, rejection: Rejection) -> None:
        self.count += 1
        if self._handle:
            self._handle.write(json.dumps(rejection.to_json_dict(), ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._handle:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> RejectedLines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def detect_format(path: str | Path) -> str:
    """``jsonl``, ``csv`` or ``parquet`` from the file's suffix (``.gz`` is not supported)."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ContractFileError(f"{path}: unknown file format {suffix!r}; use .jsonl, .csv or .parquet")
    return FORMATS[suffix]


def detect_kind(path: str | Path) -> str:
    """The contract kind from the file name (``records``, ``crimes``, ``audits``, ``flags``)."""
    name = Path(path).name.lower()
    for kind in KINDS:
        if kind in name or kind.rstrip("s") in name:
            return kind
    raise ContractFileError(
        f"{path}: cannot tell the file kind from its name; pass --kind records|crimes|audits|flags"
    )


# --------------------------------------------------------------------------- raw readers
# Each yields (line number, parsed dict or None, rejection or None, raw excerpt).

RawItem = tuple[int, "dict[str, Any] | None", "tuple[str, str, str] | None", str]


#: A line's problem: (field, reason, message); field is "" when it is the whole line.
LineProblem = tuple[str, str, str]


def line_too_long(size: int, max_line_bytes: int) -> LineProblem:
    """The problem of a line of ``size`` bytes over the limit."""
    return ("", "line_too_long", f"line is {size} bytes, over the {max_line_bytes}-byte limit")


def parse_jsonl_line(
    raw: bytes, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> tuple[dict[str, Any] | None, LineProblem | None, str]:
    """One JSON Lines line (its bytes, with the final newline if it had one) as
    ``(object, None, excerpt)`` or ``(None, problem, excerpt)``.

    Problems: ``line_too_long`` (over ``max_line_bytes`` without the newline), ``blank_line``,
    ``undecodable`` (not UTF-8), ``invalid_json``, ``not_an_object``. The excerpt is the
    start of the decoded line, for the rejected-lines file. :func:`read_contract` and the
    Spark engine judge every line with this function.
    """
    content = len(raw) - 1 if raw.endswith(b"\n") else len(raw)
    if content > max_line_bytes:
        return None, line_too_long(len(raw), max_line_bytes), ""
    if not raw.strip():
        # Blank lines are not records; they are counted as rejected so counts add up.
        return None, ("", "blank_line", "empty line"), ""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, ("", "undecodable", f"not UTF-8: {exc.reason} at byte {exc.start}"), ""
    excerpt = text[:RAW_EXCERPT_CHARS].rstrip("\n")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, ("", "invalid_json", f"{exc.msg} at column {exc.colno}"), excerpt
    if not isinstance(value, dict):
        return None, ("", "not_an_object", "a line must be a JSON object"), excerpt
    return value, None, excerpt


def _iter_jsonl(path: Path, max_line_bytes: int) -> Iterator[RawItem]:
    with path.open("rb") as handle:
        line_no = 0
        while True:
            chunk = handle.readline(max_line_bytes + 1)
            if not chunk:
                return
            line_no += 1
            if len(chunk) > max_line_bytes and not chunk.endswith(b"\n"):
                # Skip the rest of the over-long line without holding it.
                size = len(chunk)
                while chunk and not chunk.endswith(b"\n"):
                    chunk = handle.readline(1024 * 1024)
                    size += len(chunk)
                yield line_no, None, line_too_long(size, max_line_bytes), ""
                continue
            yield (line_no, *parse_jsonl_line(chunk, max_line_bytes))


def _decode_cell(name: str, value: Any, declared: frozenset[str]) -> Any:
    """CSV/Parquet cells: JSON text in nested and extra fields, empty cells as missing."""
    if isinstance(value, str):
        if value == "":
            return None
        if name in NESTED_FIELDS:
            return json.loads(value)
        if name not in declared:
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                return value  # a plain-text extra column written by another system
    return value


def _iter_csv(path: Path, max_line_bytes: int, declared: frozenset[str]) -> Iterator[RawItem]:
    csv.field_size_limit(max(max_line_bytes, 1024))
    with path.open(encoding="utf-8", newline="", errors="strict") as handle:
        reader = csv.DictReader(handle)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                yield reader.line_num + 1, None, ("", "undecodable", f"not UTF-8: {exc.reason}"), ""
                return  # the text stream cannot resynchronise after a decode error
            except csv.Error as exc:
                yield reader.line_num, None, ("", "line_too_long", str(exc)), ""
                continue
            yield decode_row(reader.line_num, row, declared)


def decode_row(line_no: int, row: dict[str, Any], declared: frozenset[str]) -> RawItem:
    """One CSV or Parquet row as a raw item: nested and extra fields decoded from JSON text,
    empty cells dropped; a row with more cells than columns or bad nested JSON is a problem.
    ``declared`` names the model's own fields."""
    excerpt = json.dumps(row, ensure_ascii=False, default=str)[:RAW_EXCERPT_CHARS]
    item: dict[str, Any] = {}
    for name, value in row.items():
        if name is None:
            return line_no, None, ("", "invalid_row", "more cells than header columns"), excerpt
        try:
            decoded = _decode_cell(name, value, declared)
        except json.JSONDecodeError as exc:
            return line_no, None, (name, "invalid_json", f"{exc.msg} in nested field"), excerpt
        if decoded is not None:
            item[name] = decoded
    return line_no, item, None, excerpt


def _iter_parquet(path: Path, declared: frozenset[str], batch_size: int = 4096) -> Iterator[RawItem]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    line_no = 0
    for batch in parquet.iter_batches(batch_size=batch_size):
        for row in batch.to_pylist():
            line_no += 1
            yield decode_row(line_no, row, declared)


def iter_raw(
    path: str | Path, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, declared: frozenset[str] = frozenset()
) -> Iterator[RawItem]:
    """Raw dicts from any supported format, with per-line parse problems.

    ``declared`` names the model's own fields; other CSV/Parquet cells are extras written
    as JSON text.
    """
    path = Path(path)
    if not path.exists():
        raise ContractFileError(f"{path}: no such file")
    fmt = detect_format(path)
    if fmt == "jsonl":
        return _iter_jsonl(path, max_line_bytes)
    if fmt == "csv":
        return _iter_csv(path, max_line_bytes, declared)
    return _iter_parquet(path, declared)


# --------------------------------------------------------------------------- validation


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _reason(error: dict[str, Any]) -> str:
    kind = error["type"]
    loc = error["loc"]
    last = str(loc[-1]) if loc else ""
    message = error.get("msg", "")
    if kind == "missing":
        return "missing_field"
    if kind == "enum" and last == "category":
        return "unknown_category"
    if kind.startswith("datetime") or "zone" in message:
        return "bad_time"
    if "must not be empty" in message and last == "text":
        return "empty_text"
    if kind == "too_short" and last == "entries":
        return "no_entries"
    return "invalid_value"


def rejection_from_error(file: str, line: int, exc: ValidationError, raw: str) -> Rejection:
    """The first validation error of a line, as a rejection."""
    error = exc.errors()[0]
    field_name = _loc(error["loc"]) or "-"
    return Rejection(file, line, field_name, _reason(error), error["msg"], raw)


def read_contract(
    path: str | Path,
    kind: str | None = None,
    *,
    rejected: RejectedLines | None = None,
    stats: ReadStats | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    keep_errors: int = 5,
) -> Iterator[ContractModel]:
    """Stream the valid models of a contract file; reject the rest with reasons.

    ``stats`` (pass one in to read it afterwards) counts every line; ``rejected`` receives
    every rejection. Ids must be unique within the file (``duplicate_id`` otherwise).
    """
    path = Path(path)
    kind = kind or detect_kind(path)
    if kind not in KINDS:
        raise ContractFileError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    model, id_field = KINDS[kind]
    stats = stats if stats is not None else ReadStats(str(path))
    seen: set[str] = set()
    name = str(path)

    def reject(rejection: Rejection) -> None:
        stats.rejected += 1
        stats.reasons[rejection.reason] += 1
        if len(stats.first_errors) < keep_errors:
            stats.first_errors.append(rejection)
        if rejected is not None:
            rejected.write(rejection)

    for line_no, item, problem, raw in iter_raw(path, max_line_bytes, frozenset(model.model_fields)):
        stats.read += 1
        if problem is not None:
            field_name, reason, message = problem
            reject(Rejection(name, line_no, field_name or "-", reason, message, raw))
            continue
        assert item is not None
        try:
            obj = model.model_validate(item)
        except ValidationError as exc:
            reject(rejection_from_error(name, line_no, exc, raw))
            continue
        key = str(getattr(obj, id_field))
        if key in seen:
            reject(
                Rejection(name, line_no, id_field, "duplicate_id", f"{id_field} {key!r} seen earlier", raw)
            )
            continue
        seen.add(key)
        stats.accepted += 1
        yield obj


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of up to ``size`` items from a stream (``itertools.batched`` before Python 3.12)."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --------------------------------------------------------------------------- writers


def _parquet_type(annotation: Any) -> Any:
    import pyarrow as pa

    text = str(annotation)
    if "float" in text:
        return pa.float64()
    if "bool" in text:
        return pa.bool_()
    if text in ("<class 'int'>", "int"):
        return pa.int64()
    return pa.string()


class ContractWriter:
    """Writes contract dicts or models to JSON Lines, CSV or Parquet, batched.

    For CSV and Parquet, nested fields are written as JSON text and the columns are the
    model's fields followed by any extra fields seen in the first row.
    """

    def __init__(
        self, path: str | Path, kind: str | None = None, *, append: bool = False, batch_size: int = 1000
    ) -> None:
        self.path = Path(path)
        self.format = detect_format(self.path)
        self.kind = kind
        self.count = 0
        self.batch_size = batch_size
        self._batch: list[dict[str, Any]] = []
        self._columns: list[str] | None = None
        self._handle: IO[str] | None = None
        self._csv: Any = None
        self._parquet: Any = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.format in ("jsonl", "csv"):
            exists = append and self.path.exists() and self.path.stat().st_size > 0
            self._handle = self.path.open("a" if append else "w", encoding="utf-8", newline="")
            self._csv_header_written = exists
        elif append:
            raise ContractFileError(f"{self.path}: Parquet output cannot be appended to")

    def write(self, item: ContractModel | dict[str, Any]) -> None:
        row = item.to_json_dict() if isinstance(item, ContractModel) else item
        self._batch.append(row)
        self.count += 1
        if len(self._batch) >= self.batch_size:
            self.flush()

    def write_all(self, items: Iterable[ContractModel | dict[str, Any]]) -> None:
        for item in items:
            self.write(item)

    def _flat(self, row: dict[str, Any]) -> dict[str, Any]:
        """Nested and extra fields as JSON text, so a read gives back the same values."""
        declared = KINDS[self.kind][0].model_fields if self.kind in KINDS else {}
        return {
            k: (
                json.dumps(v, ensure_ascii=False)
                if v is not None and (isinstance(v, (list, dict)) or k not in declared)
                else v
            )
            for k, v in row.items()
        }

    def _ensure_columns(self, row: dict[str, Any]) -> list[str]:
        if self._columns is None:
            declared = list(KINDS[self.kind][0].model_fields) if self.kind in KINDS else []
            self._columns = declared + [k for k in row if k not in declared]
        return self._columns

    def flush(self) -> None:
        if not self._batch:
            return
        if self.format == "jsonl":
            assert self._handle is not None
            self._handle.write("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in self._batch))
            self._handle.flush()
        elif self.format == "csv":
            assert self._handle is not None
            columns = self._ensure_columns(self._batch[0])
            if self._csv is None:
                self._csv = csv.DictWriter(self._handle, fieldnames=columns, extrasaction="ignore")
                if not self._csv_header_written:
                    self._csv.writeheader()
            self._csv.writerows(self._flat(row) for row in self._batch)
            self._handle.flush()
        else:
            self._flush_parquet()
        self._batch = []

    def _flush_parquet(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = self._ensure_columns(self._batch[0])
        if self._parquet is None:
            fields = KINDS[self.kind][0].model_fields if self.kind in KINDS else {}
            schema = pa.schema(
                [
                    (
                        c,
                        pa.string()
                        if c in NESTED_FIELDS or c not in fields
                        else _parquet_type(fields[c].annotation),
                    )
                    for c in columns
                ]
            )
            self._parquet = pq.ParquetWriter(self.path, schema)
        schema = self._parquet.schema
        rows = [self._flat(row) for row in self._batch]
        data = {}
        for c in columns:
            values = [row.get(c) for row in rows]
            if schema.field(c).type == pa.string():
                values = [None if v is None else (v if isinstance(v, str) else json.dumps(v)) for v in values]
            data[c] = values
        self._parquet.write_table(pa.table(data, schema=schema))

    def close(self) -> None:
        self.flush()
        if self._handle:
            self._handle.close()
            self._handle = None
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        elif self.format == "parquet" and self.count == 0:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table({}), self.path)

    def __enter__(self) -> ContractWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_contract(
    path: str | Path, items: Iterable[ContractModel | dict[str, Any]], kind: str | None = None
) -> int:
    """Write all items to ``path``; returns how many were written."""
    with ContractWriter(path, kind) as writer:
        writer.write_all(items)
        return writer.count


def load_all(path: str | Path, kind: str | None = None, **kwargs: Any) -> list[Any]:
    """Read a whole (small) contract file into a list; for tests and small lookups only."""
    return list(read_contract(path, kind, **kwargs))

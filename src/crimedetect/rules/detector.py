"""``RuleDetector``: the rules behind the ``Detector`` interface.

Builds its spaCy pipeline lazily (once per process), runs every entry of every record through
``nlp.pipe`` in batches, reads each record's mentions, judges them and counts them. With
``n_process > 1`` records go to a pool of worker processes, each building the pipeline once;
the pool is kept for the next ``detect`` call until ``close()`` (or the detector is garbage
collected). Only the config path crosses process boundaries, so the detector pickles.

With ``n_process`` N the work is shared by N - 1 worker processes and the calling process
itself: the workers take chunks of records from the front, the caller from the back, until
they meet. Workers get each record as plain tuples of what the rules read (entry text,
author, time: :func:`pack_records`), which pickle several times faster than pydantic models,
and return the disclosures (models, which unpickle as fast as anything rebuilt from tuples).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import weakref
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from crimedetect.contract import Disclosure, Record
from crimedetect.rules.components import TEXT
from crimedetect.rules.counting import count
from crimedetect.rules.extract import RecordReader, RecordTrace
from crimedetect.rules.schema import CountingSettings, load_counting, load_rules_dir, rules_version


class PackedEntry(NamedTuple):
    """What the rules read of an entry: a light stand-in for :class:`Entry` sent to workers."""

    text: str
    author: str | None
    at: datetime


class PackedRecord(NamedTuple):
    """What the rules read of a record: its entries (a light stand-in for :class:`Record`)."""

    entries: tuple[PackedEntry, ...]


def pack_records(records: Sequence[Record]) -> list[PackedRecord]:
    """The records as plain tuples of what the rules read, cheap to pickle to a worker."""
    return [PackedRecord(tuple(PackedEntry(e.text, e.author, e.at) for e in r.entries)) for r in records]


class RuleDetector:
    """Offence rules as a detector: counted disclosures with evidence and a decision trace."""

    name = "rules"

    def __init__(self, config_path: str | None = None, n_process: int = 1, batch_size: int = 256) -> None:
        self.config_path = str(config_path) if config_path else None
        self.n_process = n_process
        self.batch_size = batch_size
        self._nlp: Any = None
        self._reader: RecordReader | None = None
        self._rules_dir: str | None = None
        self._version: str | None = None
        self._folds_into: dict[str, list[str]] | None = None
        self._counting: CountingSettings | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._pool_finalizer: weakref.finalize | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"config_path": self.config_path, "n_process": self.n_process, "batch_size": self.batch_size}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    # ---------------------------------------------------------------- lazy parts
    @property
    def nlp(self) -> Any:
        """The spaCy pipeline, built on first use."""
        if self._nlp is None:
            from crimedetect.rules.pipeline import get_pipeline

            nlp = get_pipeline(self.config_path)
            self._rules_dir = nlp.get_pipe("crimedetect_offences").rules_dir
            # Every rule file is read now, with the pipeline: a built detector runs the rules it
            # was built with, even when the files change while it runs (a training run scores
            # its validation records with the rules half an hour after it started).
            offences, _, victims = load_rules_dir(self._rules_dir)
            self._reader = RecordReader(
                offences,
                nlp.get_pipe("crimedetect_context").effects,
                victims.gender_words,
                victims.per_child_codes,
                victims.lexicons,
            )
            self._counting = load_counting(self._rules_dir)
            self._nlp = nlp
            self._version = None
            self.version  # noqa: B018  (fix the version of the files just read)
        return self._nlp

    def build(self) -> RuleDetector:
        """Build the pipeline and read every rule file now (a broken file fails here)."""
        self.nlp  # noqa: B018
        return self

    @property
    def reader(self) -> RecordReader:
        """The record reader, built with the pipeline."""
        self.nlp  # noqa: B018
        assert self._reader is not None
        return self._reader

    @property
    def counting(self) -> CountingSettings:
        """``counting.yaml`` as read when the pipeline was built."""
        self.nlp  # noqa: B018
        assert self._counting is not None
        return self._counting

    @property
    def version(self) -> str:
        """The rules version: the declared versions of the rule files in use, then a short
        sha256 of their content (config, every rules directory it names, the shared counting
        rules). It changes whenever what the rules read changes; the scan's ``--resume`` and
        the Spark engine compare it. Fixed when the pipeline is built (it describes the rules
        this detector runs); computed without building it until then."""
        if self._version is None:
            from crimedetect.rules.pipeline import content_digest

            version = rules_version(self._rules_dir_unbuilt(), content_digest(self.config_path))
            if self._nlp is None:
                return version
            self._version = version
        return self._version

    # ---------------------------------------------------------------- detection
    def _docs(self, records: Sequence[Record] | Sequence[PackedRecord]) -> Iterator[tuple[int, list[Any]]]:
        """Each record's processed entries, in input order."""
        nlp = self.nlp
        current: list[Any] = []
        for doc, (index, total) in nlp.pipe(
            self._made_docs(nlp, records), as_tuples=True, batch_size=self.batch_size
        ):
            current.append(doc)
            if len(current) == total:
                yield index, current
                current = []

    @staticmethod
    def _made_docs(
        nlp: Any, records: Sequence[Record] | Sequence[PackedRecord]
    ) -> Iterator[tuple[Any, tuple[int, int]]]:
        """Each entry tokenized, with (record index, entries in the record): the entry's text
        goes with its doc (``TEXT``), so components need not rebuild it from the tokens."""
        for i, r in enumerate(records):
            for entry in r.entries:
                doc = nlp.make_doc(entry.text)
                doc.user_data[TEXT] = entry.text
                yield doc, (i, len(r.entries))

    def trace(self, records: Sequence[Record]) -> list[RecordTrace]:
        """The full decision trace of each record (mentions, qualifiers, candidates, drops)."""
        return [self.reader.read(records[i], docs) for i, docs in self._docs(records)]

    def _detect_here(self, records: Sequence[Record] | Sequence[PackedRecord]) -> list[list[Disclosure]]:
        """Counted disclosures, in this process (records or their packed stand-ins)."""
        settings = self.counting
        return [
            count(records[i], self.reader.read(records[i], docs).candidates, settings)
            for i, docs in self._docs(records)
        ]

    def detect_packed(self, records: Sequence[PackedRecord]) -> list[list[Disclosure]]:
        """Counted disclosures of records packed by :func:`pack_records`, in this process."""
        return self._detect_here(records)

    @property
    def folds_into(self) -> dict[str, list[str]]:
        """The principal-crime table (``counting.yaml`` ``subsumed_by``): category -> the
        categories it is part of for the same victim; the ensemble folds model-only
        disclosures with it. Read once, without building the pipeline (a scan whose rules run
        in worker processes asks for it in the main one, batch after batch); a built detector
        gives its own ``counting.yaml``, read when it was built."""
        if self._folds_into is None:
            settings = self._counting or load_counting(self._rules_dir_unbuilt())
            self._folds_into = dict(settings.subsumed_by)
        return self._folds_into

    def _rules_dir_unbuilt(self) -> str | None:
        """The rules directory in use: the built pipeline's, else the config's (not built)."""
        if self._nlp is not None:
            return self._rules_dir
        from crimedetect.rules.pipeline import config_rules_dirs

        return config_rules_dirs(self.config_path)[0]

    def detect(self, records: Sequence[Record]) -> list[list[Disclosure]]:
        """Counted disclosures for each record, in input order."""
        with _older_objects_frozen():
            return self._detect(list(records))

    def _detect(self, records: list[Record]) -> list[list[Disclosure]]:
        workers = min(self.n_process, os.cpu_count() or 1)
        if workers <= 1 or len(records) < 2 * self.batch_size:
            return self._detect_here(records)
        # Small chunks keep every process busy to the end: at the end the caller waits for the
        # chunk a worker runs and the one queued for it (4,000 records: 32-record chunks,
        # ~0.1 s of waiting; 125-record chunks left ~0.6 s, a tenth of the run).
        size = min(self.batch_size, max(16, -(-len(records) // (workers * 64))))
        chunks = [records[i : i + size] for i in range(0, len(records), size)]
        pool = self._worker_pool(workers - 1)
        futures = [pool.submit(_detect_chunk, pack_records(chunk)) for chunk in chunks]
        here: dict[int, list[list[Disclosure]]] = {}
        try:
            # This process works too: from the back, each chunk no worker has taken yet
            # (a future is cancellable until the pool hands it to a worker).
            for i in reversed(range(len(chunks))):
                if not futures[i].cancel():
                    break
                here[i] = self._detect_here(chunks[i])
            return [found for i, f in enumerate(futures) for found in (here[i] if i in here else f.result())]
        finally:
            for f in futures:
                f.cancel()

    def build_for_worker(self) -> None:
        """Build the pipeline now, in a worker process that runs this detector for its whole
        life, and keep the pipeline's objects out of every later garbage collection (a full
        collection otherwise rescans them all: ~5% of a worker's time)."""
        self.nlp  # noqa: B018
        gc.freeze()

    def _worker_pool(self, workers: int) -> ProcessPoolExecutor:
        """The worker pool, started on first use (workers build their pipeline once)."""
        if self._pool is None:
            # Spawned, not forked: a fork copies whatever locks this process's other threads
            # (torch's OpenMP pool, tqdm's monitor) hold at that moment, and a worker that
            # needs one waits for ever (a CI run hung here after the model tests).
            self._pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.config_path,),
            )
            self._pool_finalizer = weakref.finalize(self, self._pool.shutdown)
        return self._pool

    def close(self) -> None:
        """Stop the worker pool, if one was started."""
        if self._pool_finalizer is not None:
            self._pool_finalizer()
        self._pool = self._pool_finalizer = None

    def __enter__(self) -> RuleDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def _older_objects_frozen() -> Iterator[None]:
    """Keep the objects that exist now (the pipeline, the caller's) out of the garbage
    collections made inside the block, then give them back to the collector. Each full
    collection otherwise rescans them all: ~8% of the time detection spends in the calling
    process. Left alone when the caller froze objects itself or turned collection off."""
    if gc.get_freeze_count() or not gc.isenabled():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


_WORKER: RuleDetector | None = None


def _init_worker(config_path: str | None) -> None:
    global _WORKER
    _WORKER = RuleDetector(config_path)
    _WORKER.build_for_worker()


def _detect_chunk(records: list[PackedRecord]) -> list[list[Disclosure]]:
    assert _WORKER is not None
    return _WORKER.detect_packed(records)


def detector_for(config_path: str | Path | None = None) -> RuleDetector:
    """A detector for a config file (the packaged default when None)."""
    return RuleDetector(str(config_path) if config_path else None)

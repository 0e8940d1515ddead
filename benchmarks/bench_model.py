"""Offence classifier speed: training examples/s, inference records/s, peak memory.

Records of about ``--words`` words are built from a labelled set's entries (default the dev
set, else the bundled synthetic sample). With no ``--model`` the default pinned MiniLM is used
with a fresh 12-label head (speed does not depend on the head's training).

    .venv/bin/python benchmarks/bench_model.py --records 200 --train-examples 256
    .venv/bin/python benchmarks/bench_model.py --model models/demo --quantize

Prints one JSON line per measurement, plus ``uptime`` load: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

from crimedetect.contract import CATEGORIES, Record

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCES = (
    ROOT.parent / "shared" / "data" / "dev" / "records.jsonl",
    ROOT / "data" / "synthetic" / "records.jsonl",
)


def peak_rss_mib() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def make_records(source: Path, n: int, words: int) -> list[Record]:
    """``n`` records of about ``words`` words, each made of consecutive source entries."""
    from crimedetect.io import load_all

    entries = [e for r in load_all(source, "records") for e in r.entries]
    records, i = [], 0
    while len(records) < n:
        chosen, count = [], 0
        while count < words:
            entry = entries[i % len(entries)]
            chosen.append(entry)
            count += len(entry.text.split())
            i += 1
        records.append(Record(record_id=f"B-{len(records):06d}", entries=chosen))
    return records


def base_bundle(folder: Path, max_length: int) -> Path:
    """A bundle directory around the default base model with an untrained 12-label head."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from crimedetect.model.base import resolve_base
    from crimedetect.model.bundle import BUNDLE_FILE, BUNDLE_FORMAT

    base = resolve_base()
    tokenizer = AutoTokenizer.from_pretrained(base.path, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        base.path,
        num_labels=len(CATEGORIES),
        problem_type="multi_label_classification",
        local_files_only=True,
    )
    model.save_pretrained(folder / "model")
    tokenizer.save_pretrained(folder / "model")
    meta = {
        "format": BUNDLE_FORMAT,
        "version": "bench-base",
        "labels": list(CATEGORIES),
        "thresholds": dict.fromkeys(CATEGORIES, 0.5),
        "max_length": max_length,
        "stride": 32,
        "batch_size": 32,
        "stacker": None,
    }
    (folder / BUNDLE_FILE).write_text(json.dumps(meta), encoding="utf-8")
    return folder


def bench_inference(
    bundle_dir: str, records: list[Record], quantize: bool, batch_size: int, repeat: int, gate: bool = False
) -> dict:
    from crimedetect.model.bundle import ModelBundle, load_bundle
    from crimedetect.model.gate import EntryGate

    entry_gate = EntryGate() if gate else None
    bundle = (
        load_bundle(bundle_dir, quantize=quantize, gate=entry_gate)
        if bundle_dir.startswith("models:/")
        else ModelBundle(bundle_dir, quantize=quantize, batch_size=batch_size, gate=entry_gate)
    )
    bundle.predict(records[:8])  # load and warm up
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        bundle.predict(records)
        best = min(best, time.perf_counter() - t0)
    entries = sum(len(r.entries) for r in records)
    return {
        "measure": "inference",
        "quantize": quantize,
        "gate": entry_gate.version if entry_gate else None,
        "entries_read": sum(entry_gate.select(records)) if entry_gate else entries,
        "records": len(records),
        "entries": entries,
        "records_per_s": round(len(records) / best, 1),
        "entries_per_s": round(entries / best, 1),
        "seconds": round(best, 2),
    }


def bench_training(bundle_dir: str, records: list[Record], n_examples: int, batch_size: int) -> dict:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from crimedetect.model.config import TrainConfig
    from crimedetect.model.data import Example
    from crimedetect.model.train import _Windowed, fit_loop

    directory = Path(bundle_dir) / "model"
    tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(directory, local_files_only=True)
    entries = [e.text for r in records for e in r.entries][:n_examples]
    examples = [
        Example(text, [float(i % 12 == k) for k in range(12)], [1.0] * 12, i, 0)
        for i, text in enumerate(entries)
    ]
    cfg = TrainConfig(
        data={"train": [{"records": "-", "audits": "-"}]},
        epochs=1,
        batch_size=batch_size,
        max_length=128,
        stride=24,
    )
    windows = _Windowed(tokenizer, examples, cfg.max_length, cfg.stride)
    t0 = time.perf_counter()
    history = fit_loop(model, tokenizer, windows, cfg)
    elapsed = time.perf_counter() - t0
    return {
        "measure": "training",
        "examples": len(windows),
        "examples_per_s": round(len(windows) / elapsed, 1),
        "mean_tokens": round(sum(len(x) for x in windows.input_ids) / max(len(windows), 1), 1),
        "loss": round(history[0]["train_loss"], 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", help="bundle directory or models:/ URI (default: base MiniLM, fresh head)")
    parser.add_argument("--source", help="records.jsonl whose entries make the benchmark records")
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--words", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--quantize", action="store_true", help="also measure dynamic int8 quantisation")
    parser.add_argument("--train-examples", type=int, default=0, help="also time one training epoch")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--gate", action="store_true", help="also measure with the entry gate (crimedetect.model.gate)"
    )
    parser.add_argument("--no-fp32", action="store_true", help="skip the fp32 measurement")
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    source = Path(args.source) if args.source else next(p for p in DEFAULT_SOURCES if p.exists())
    records = make_records(source, args.records, args.words)
    words = sum(len(e.text.split()) for r in records for e in r.entries) / len(records)
    header = {
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load_before": load_avg(),
        "records": len(records),
        "mean_words": round(words, 1),
    }
    print(json.dumps(header))
    with tempfile.TemporaryDirectory() as tmp:
        bundle_dir = args.model or str(base_bundle(Path(tmp) / "bundle", args.max_length))
        if args.train_examples:
            print(json.dumps(bench_training(bundle_dir, records, args.train_examples, 16)))
        for quantize in ([] if args.no_fp32 else [False]) + ([True] if args.quantize else []):
            for gate in [False, True] if args.gate else [False]:
                print(
                    json.dumps(
                        bench_inference(bundle_dir, records, quantize, args.batch_size, args.repeat, gate)
                    )
                )
    print(json.dumps({"peak_rss_mib": round(peak_rss_mib(), 1), "load_after": load_avg()}))


if __name__ == "__main__":
    main()

"""The entry gate: which entries the encoder reads, and a gated bundle's predictions."""

from __future__ import annotations

import json
import pickle
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from crimedetect.contract import CATEGORIES, Entry, Record
from crimedetect.model.gate import EntryGate, GateFileError, load_gate_settings

OFFENCE = "He punched her in the face."
ROUTINE = "DASH completed, PPN to follow. Tried to call back, no answer."
KEYWORD_ONLY = "Cannabis smell in the stairwell reported by caller."  # keyword baseline only
NEGATED = "No assault disclosed, words only."  # a negated mention still opens the entry


def gate_file(folder: Path, **settings: object) -> Path:
    path = folder / "gate.yaml"
    path.write_text(json.dumps({"version": "0.1.0", **settings}), encoding="utf-8")  # JSON is YAML
    return path


def record(record_id: str, *texts: str) -> Record:
    start = datetime(2017, 3, 1, 10, tzinfo=UTC)
    entries = [Entry(at=start + timedelta(hours=i), text=t) for i, t in enumerate(texts)]
    return Record(record_id=record_id, entries=entries)


def test_packaged_gate_opens_mentions_and_keywords_only() -> None:
    gate = EntryGate()
    assert gate.select_texts([OFFENCE, ROUTINE, KEYWORD_ONLY, NEGATED]) == [True, False, True, True]
    assert gate.version.startswith(f"gate-{gate.settings.version}-")


def test_gate_file_decides_what_opens_an_entry(tmp_path: Path) -> None:
    only_rules = EntryGate(gate_file(tmp_path, rule_mentions=["offences"]))
    assert only_rules.select_texts([OFFENCE, KEYWORD_ONLY, ROUTINE]) == [True, False, False]
    only_pattern = EntryGate(gate_file(tmp_path, patterns=[r"\bstairwell\b"]))
    assert only_pattern.select_texts([OFFENCE, KEYWORD_ONLY, ROUTINE]) == [False, True, False]
    # records flatten to their entries in order
    records = [record("A", OFFENCE), record("B", ROUTINE, KEYWORD_ONLY)]
    assert only_pattern.select(records) == [False, False, True]


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"rule_mentions": ["victims"]}, "rule_mentions"),
        ({"patterns": ["(unclosed"]}, "regular expression"),
        ({"words": []}, "words"),
    ],
)
def test_bad_gate_files_are_refused(tmp_path: Path, settings: dict, problem: str) -> None:
    with pytest.raises(GateFileError, match=problem):
        load_gate_settings(gate_file(tmp_path, **settings))


def test_gate_pickles_without_its_pipeline(tmp_path: Path) -> None:
    gate = EntryGate(gate_file(tmp_path, rule_mentions=["offences", "cues"]))
    gate.select_texts([OFFENCE])
    copy = pickle.loads(pickle.dumps(gate))
    assert copy._nlp is None and copy.version == gate.version
    assert copy.select_texts([OFFENCE, ROUTINE]) == [True, False]


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory, tiny_bert: Path) -> Path:
    """The tiny random BERT as a bundle (thresholds 0.5, no stacker): untrained, but its
    probabilities are real encoder outputs, which is what the gate changes."""
    from crimedetect.model.bundle import BUNDLE_FILE, BUNDLE_FORMAT

    folder = tmp_path_factory.mktemp("gated-bundle")
    shutil.copytree(tiny_bert, folder / "model")
    meta = {
        "format": BUNDLE_FORMAT,
        "version": "tiny",
        "labels": list(CATEGORIES),
        "thresholds": dict.fromkeys(CATEGORIES, 0.5),
        "max_length": 64,
        "stride": 16,
        "batch_size": 4,
        "stacker": None,
    }
    (folder / BUNDLE_FILE).write_text(json.dumps(meta), encoding="utf-8")
    return folder


def test_gated_bundle_reads_open_entries_only(tiny_bundle: Path) -> None:
    from crimedetect.detect import Pipeline
    from crimedetect.model.bundle import ModelBundle
    from crimedetect.rules import RuleDetector

    records = [record("A", ROUTINE, OFFENCE), record("B", ROUTINE), record("C", KEYWORD_ONLY, NEGATED)]
    bundle = ModelBundle(tiny_bundle)
    gate = EntryGate()
    gated = bundle.gated(gate)
    assert gated.gate is gate and bundle.gate is None
    full, _, _ = bundle.entry_probs(records)
    probs, index, (best, _) = gated.entry_probs(records)
    read = np.asarray(gate.select(records))
    assert read.tolist() == [False, True, False, True, True]
    assert (probs[~read] == 0).all() and (best[~read] == -1).all()
    np.testing.assert_allclose(probs[read], full[read], atol=1e-5)  # same encoder, same entries
    # a record whose entries are all closed: probability 0, no window, no label
    closed = gated.predict(records)[1]
    assert set(closed.probs.values()) == {0.0} and closed.labels == []
    assert all(span == (0, 0, 0) for span in closed.spans.values())
    # flags say the model ran gated
    assert Pipeline(RuleDetector(), gated).model_version == f"tiny+{gate.version}"
    assert Pipeline(RuleDetector(), bundle).model_version == "tiny"


def test_scans_gate_the_model_by_default(tiny_bundle: Path) -> None:
    from crimedetect.scan import build_pipeline

    gated = build_pipeline(model_uri=str(tiny_bundle))
    assert gated.bundle.gate is not None and "+gate-" in str(gated.versions["model"])
    every_entry = build_pipeline(model_uri=str(tiny_bundle), model_gate=False)
    assert every_entry.bundle.gate is None and every_entry.versions["model"] == "tiny"


@pytest.mark.slow
@pytest.mark.parametrize("quantize", [False, True])
def test_gated_scan_is_identical_across_workers(tiny_bundle: Path, tmp_path: Path, quantize: bool) -> None:
    from crimedetect.detect import Pipeline
    from crimedetect.model.bundle import ModelBundle
    from crimedetect.rules import RuleDetector
    from crimedetect.scan import run_scan

    records = tmp_path / "records.jsonl"
    texts = [OFFENCE, ROUTINE, KEYWORD_ONLY, NEGATED]
    with records.open("w") as handle:
        for i in range(8):
            entries = [
                {"at": "2017-03-01T10:00:00Z", "text": ROUTINE},
                {"at": "2017-03-01T11:00:00Z", "text": texts[i % 4]},
            ]
            handle.write(json.dumps({"record_id": f"R-{i}", "entries": entries}) + "\n")
    bundle = ModelBundle(tiny_bundle, gate=EntryGate(), quantize=quantize)
    outputs = []
    for workers, in_workers in ((1, False), (2, False), (2, True)):
        out = tmp_path / f"w{workers}{in_workers}" / "flags.jsonl"
        pipeline = Pipeline(RuleDetector(), bundle)
        run_scan(
            records, None, out, pipeline=pipeline, workers=workers, batch_size=3, model_in_workers=in_workers
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    flags = [json.loads(line) for line in outputs[0].decode().splitlines()]
    int8 = "+int8w7" if quantize else ""
    assert {f["versions"]["model"] for f in flags} == {f"tiny{int8}+{bundle.gate.version}"}


def test_int8_runs_are_marked(tiny_bundle: Path) -> None:
    from crimedetect.detect import Pipeline
    from crimedetect.model.bundle import ModelBundle
    from crimedetect.rules import RuleDetector

    quantised = ModelBundle(tiny_bundle, quantize=True)
    probs, _, _ = quantised.entry_probs([record("A", OFFENCE, ROUTINE)])
    full, _, _ = ModelBundle(tiny_bundle).entry_probs([record("A", OFFENCE, ROUTINE)])
    assert np.abs(probs - full).max() < 0.05  # int8 weights: close to fp32, not equal
    assert Pipeline(RuleDetector(), quantised).model_version == "tiny+int8w7"
    gated = quantised.gated(EntryGate())
    assert Pipeline(RuleDetector(), gated).model_version == f"tiny+int8w7+{gated.gate.version}"


def test_int8_linear_quantises_each_row_on_its_own() -> None:
    """A token's output depends on that token only: one scale per row, exact int8 products
    (one scale per tensor, as torch.ao's dynamic quantisation, lets a loud batch-mate coarsen
    every other row)."""
    import torch

    from crimedetect.model.int8 import quantize_rowwise

    torch.manual_seed(0)
    layer = torch.nn.Sequential(torch.nn.Linear(24, 10))
    quiet = torch.randn(3, 5, 24)
    loud = torch.cat([quiet, 100 * torch.randn(1, 5, 24)])
    fp32 = layer(quiet).detach()
    int8 = quantize_rowwise(layer)
    assert isinstance(int8[0], torch.nn.Module) and not isinstance(int8[0], torch.nn.Linear)
    alone, beside_loud = int8(quiet), int8(loud)[:3]
    assert torch.equal(alone, beside_loud)
    assert torch.equal(int8(quiet[1:2, 2:4]), alone[1:2, 2:4])  # nor on other tokens of its row
    assert (alone - fp32).abs().max() < 0.02 * fp32.abs().max()


@pytest.mark.parametrize(
    "shape", [(32, 24, 16), (2048, 384, 1536), (17, 1536, 384), (5, 2096, 8), (5, 2097, 8), (3, 4500, 7)]
)
def test_int8_products_are_exact_on_either_path(shape: tuple[int, int, int]) -> None:
    """oneDNN's int8 product and the float32 one give the very integers of an int64 product,
    including at the extremes of 7-bit weights and 8-bit activations (so scores do not depend
    on the CPU: with 8-bit weights AVX2's 16-bit pair sums saturate)."""
    import torch

    from crimedetect.model.int8 import as_unsigned, float_product, onednn_available, onednn_product

    m, k, n = shape
    torch.manual_seed(1)
    a = torch.randint(-127, 128, (m, k))
    w = torch.randint(-63, 64, (n, k), dtype=torch.int8)
    a[0].fill_(127)
    w[0].fill_(63)  # the largest sum there is: 127 * 63 * k
    a[1].fill_(-127)
    w[1].fill_(-63)
    exact = (a @ w.t().to(torch.int64)).to(torch.float64)
    by_float = float_product(a.float(), w.t().float().contiguous())
    assert by_float.dtype == torch.float32 and torch.equal(by_float.double(), exact.float().double())
    state = torch.random.get_rng_state()
    onednn_available.cache_clear()
    assert onednn_available()  # x86 and ARM builds of torch carry oneDNN
    assert torch.equal(torch.random.get_rng_state(), state)  # the probe leaves the global seed alone
    packed = torch.ops.onednn.qlinear_prepack(w, None)
    ones, zeros = torch.ones(n), torch.zeros(n, dtype=torch.int64)
    assert torch.equal(onednn_product(as_unsigned(a.float()), packed, ones, zeros), by_float)


def test_int8_linear_paths_agree() -> None:
    """A layer quantised for oneDNN and for float32 products gives the same outputs."""
    import copy

    import torch

    from crimedetect.model.int8 import quantize_rowwise

    torch.manual_seed(2)
    layer = torch.nn.Sequential(torch.nn.Linear(384, 1536), torch.nn.GELU(), torch.nn.Linear(1536, 384))
    x = torch.randn(4, 9, 384)
    onednn = quantize_rowwise(copy.deepcopy(layer), onednn=True)
    by_float = quantize_rowwise(copy.deepcopy(layer), onednn=False)
    assert torch.equal(onednn(x), by_float(x))
    assert (onednn(x) - layer(x)).abs().max() < 0.05 * layer(x).abs().max()


def test_int8_scores_barely_depend_on_batch_mates(tiny_bundle: Path) -> None:
    """Scanned alone or beside longer, noisier records, a record's int8 scores agree to float
    noise (padding can change attention sums in the last bits); with one scale per tensor
    they moved by about 1e-4 on this tiny model and by tenths on the pretrained one."""
    from crimedetect.model.bundle import ModelBundle

    quantised = ModelBundle(tiny_bundle, quantize=True)
    target = record("A", OFFENCE, ROUTINE)
    noise = "!!!! $$$$ #### 9999 ZZZZ qqqq xxxx " * 5
    others = [record(f"B{i}", " ".join([OFFENCE, KEYWORD_ONLY, noise] * (i + 2)), NEGATED) for i in range(5)]
    alone, _, _ = quantised.entry_probs([target])
    among, _, _ = quantised.entry_probs([*others, target])
    assert np.abs(among[-2:] - alone).max() < 1e-5


@pytest.mark.parametrize(
    ("lengths", "batch_size", "max_tokens", "expected"),
    [
        ([5, 3, 9, 4], 8, 100, [[1, 3, 0, 2]]),  # one pass, shortest first
        ([5, 3, 9, 4], 2, 100, [[1, 3], [0, 2]]),  # rows capped
        ([10, 10, 10, 40, 40], 8, 60, [[0, 1, 2], [3], [4]]),  # padded cells capped
        ([200, 3], 8, 64, [[1], [0]]),  # a window wider than the cap still gets a pass
        ([], 8, 64, []),
    ],
)
def test_length_batches_sort_and_cap_passes(
    lengths: list[int], batch_size: int, max_tokens: int, expected: list[list[int]]
) -> None:
    from crimedetect.model.encoder import length_batches

    assert length_batches(lengths, batch_size, max_tokens) == expected

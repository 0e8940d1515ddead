"""The offence classifier on a tiny, randomly initialised BERT built here (seconds on CPU)."""

from __future__ import annotations

import json
import pickle
import socket
from pathlib import Path

import numpy as np
import pytest
import yaml

from crimedetect.contract import CATEGORIES, Audit, Disclosure, Evidence, Record
from crimedetect.model import metrics as M
from crimedetect.model.data import entry_examples, label_records

T0 = "2017-03-01T10:00:00Z"
T1 = "2017-03-01T11:00:00Z"

# (first entry, second entry, category or None, evidence): a small labelled force.
CASES = [
    (
        "RP states her partner punched her in the face.",
        "IP has a cut lip and bruising.",
        "violence_with_injury",
        "punched her in the face",
    ),
    (
        "Caller says male hit his brother with a bottle.",
        "Victim has a head wound, stitches.",
        "violence_with_injury",
        "hit his brother with a bottle",
    ),
    (
        "Shop reports a male took a jacket without paying.",
        "CCTV seized, suspect known.",
        "theft",
        "took a jacket without paying",
    ),
    (
        "RP says her bike was stolen from the garden.",
        "No suspects. Advice given.",
        "theft",
        "her bike was stolen",
    ),
    (
        "Neighbour smashed the front window of the car.",
        "Damage photographed.",
        "criminal_damage_arson",
        "smashed the front window",
    ),
    (
        "Youths set fire to the bin store.",
        "Fire service attended.",
        "criminal_damage_arson",
        "set fire to the bin store",
    ),
    ("Concern for welfare, elderly male not answering.", "Found safe and well.", None, None),
    ("Noise complaint, music from a party.", "Spoke to occupant, music turned down.", None, None),
    ("Lost dog reported in the park.", "Dog returned to owner.", None, None),
    ("RP locked out of her flat.", "Locksmith called, no offences.", None, None),
    (
        "Ex partner keeps sending texts.",
        "He punched her in the face last night too.",
        "violence_with_injury",
        "He punched her in the face last night",
    ),
    (
        "Male took purse from a handbag on the bus.",
        "Victim shaken, no injury.",
        "theft",
        "took purse from a handbag",
    ),
]


def make_records() -> tuple[list[Record], list[Audit]]:
    records, audits = [], []
    for i, (first, second, category, evidence) in enumerate(CASES):
        rid = f"T-{i:03d}"
        records.append(Record(record_id=rid, entries=[{"at": T0, "text": first}, {"at": T1, "text": second}]))
        crimes = [{"category": category, "evidence": evidence}] if category else []
        audits.append(Audit(record_id=rid, crimes=crimes))
    return records, audits


@pytest.fixture(scope="module")
def force(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """records.jsonl + audits.jsonl of the small force."""
    folder = tmp_path_factory.mktemp("force")
    records, audits = make_records()
    (folder / "records.jsonl").write_text("".join(json.dumps(r.to_json_dict()) + "\n" for r in records))
    (folder / "audits.jsonl").write_text("".join(json.dumps(a.to_json_dict()) + "\n" for a in audits))
    return folder


@pytest.fixture(scope="module")
def tiny_base(tiny_bert: Path) -> Path:
    """The shared tiny random BERT (``tests/conftest.py``)."""
    return tiny_bert


def tiny_config(force: Path, base: Path, out: Path, **extra: object):
    from crimedetect.model.config import TrainConfig

    values = {
        "run_name": "tiny",
        "data": {
            "train": [{"records": str(force / "records.jsonl"), "audits": str(force / "audits.jsonl")}],
            "val_fraction": 0.34,
        },
        "base_model": str(base),
        "max_length": 32,
        "stride": 4,
        "epochs": 6,
        "batch_size": 4,
        "learning_rate": 3e-3,
        "head_learning_rate": 1e-2,
        "warmup_ratio": 0.0,
        "min_val_positives": 1,
        "output_dir": str(out),
    }
    values.update(extra)
    return TrainConfig.model_validate(values)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Any attempt to open a network connection fails the test (Unix sockets are allowed)."""
    attempts: list[object] = []
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
            raise AssertionError(f"network access attempted: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: guarded(socket.socket(), a[0]))
    return attempts


def test_evidence_labels_entries_and_masks_the_rest() -> None:
    records, audits = make_records()
    labelled, unaudited = label_records(records, audits)
    assert unaudited == 0
    examples = entry_examples(labelled)
    k = CATEGORIES.index("violence_with_injury")
    # Case 10: the evidence is in the second entry; the first is masked, not negative.
    first, second = [e for e in examples if e.record_index == 10]
    assert (first.labels[k], first.mask[k]) == (0.0, 0.0)
    assert (second.labels[k], second.mask[k]) == (1.0, 1.0)
    assert first.mask[CATEGORIES.index("theft")] == 1.0


def test_unlocated_evidence_gives_a_record_level_window() -> None:
    records, audits = make_records()
    audits[0] = Audit(record_id=audits[0].record_id, crimes=[{"category": "rape", "evidence": "not in text"}])
    labelled, _ = label_records(records[:1], audits[:1])
    examples = entry_examples(labelled)
    k = CATEGORIES.index("rape")
    assert [e.entry_index for e in examples] == [0, 1, -1]
    assert [e.mask[k] for e in examples] == [0.0, 0.0, 1.0]
    assert examples[-1].labels[k] == 1.0


def test_threshold_choice_reaches_target_recall() -> None:
    rng = np.random.default_rng(0)
    truth = (rng.random((60, len(CATEGORIES))) < 0.2).astype(int)
    probs = np.clip(truth * 0.5 + rng.random(truth.shape) * 0.6, 0, 1)
    thresholds, how = M.choose_thresholds(probs, truth, target_recall=0.9, min_positives=3)
    pred = M.apply_thresholds(probs, thresholds)
    for k, c in enumerate(CATEGORIES):
        if how[c] == "category":
            assert M.prf(truth[:, k], pred[:, k])["recall"] >= 0.9


def test_tiny_model_loss_decreases(force: Path, tiny_base: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from crimedetect.model.data import load_labelled
    from crimedetect.model.train import _Windowed, fit_loop

    cfg = tiny_config(force, tiny_base, tmp_path / "out", epochs=8)
    labelled, counts = load_labelled(force / "records.jsonl", force / "audits.jsonl")
    assert counts["records_labelled"] == len(CASES)
    tokenizer = AutoTokenizer.from_pretrained(tiny_base, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        tiny_base,
        num_labels=len(CATEGORIES),
        problem_type="multi_label_classification",
        local_files_only=True,
    )
    windows = _Windowed(tokenizer, entry_examples(labelled), cfg.max_length, cfg.stride)
    history = fit_loop(model, tokenizer, windows, cfg)
    losses = [row["train_loss"] for row in history]
    assert losses[-1] < 0.7 * losses[0], losses


def test_train_register_promote_load_by_alias_offline(
    force: Path, tiny_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: list[object]
) -> None:
    from typer.testing import CliRunner

    from crimedetect.cli import app
    from crimedetect.model import champion_uri, load_bundle
    from crimedetect.model.bundle import ModelBundle
    from crimedetect.model.train import train
    from crimedetect.tracking import tracking_uri

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("CRIMEDETECT_MODEL_CACHE", str(tmp_path / "cache"))
    assert tracking_uri() == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    assert champion_uri() is None  # no store yet, and asking does not create one
    assert not (tmp_path / "mlflow.db").exists()

    result = train(tiny_config(force, tiny_base, tmp_path / "any-name"))
    assert result.model_version == "1"
    assert [row["epoch"] for row in result.history] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]

    runner = CliRunner()
    promoted = runner.invoke(app, ["models", "promote", "latest", "--alias", "champion"])
    assert promoted.exit_code == 0, promoted.output
    listed = runner.invoke(app, ["models", "list"])
    assert listed.exit_code == 0 and "champion" in listed.output, listed.output

    uri = champion_uri()
    assert uri == "models:/crimedetect-offence-classifier@champion"
    records, _ = make_records()
    local = ModelBundle(tmp_path / "any-name").predict(records)
    registered = load_bundle(uri)
    assert registered.version == "crimedetect-offence-classifier/1"
    remote = registered.predict(records)
    for a, b in zip(local, remote, strict=True):
        assert a.entry == b.entry and a.labels == b.labels
        np.testing.assert_allclose(
            [a.probs[c] for c in CATEGORIES], [b.probs[c] for c in CATEGORIES], atol=1e-6
        )
    assert no_network == []

    # Nothing logged to MLflow carries record text.
    import mlflow

    run = mlflow.MlflowClient().get_run(result.run_id)
    logged = json.dumps({"params": run.data.params, "tags": run.data.tags})
    for first, second, *_ in CASES:
        assert first not in logged and second not in logged
        assert first.split()[1] not in run.data.params.values()
    assert any(k.startswith("data.train0.records.sha256") for k in run.data.tags)
    assert "val_loss" in run.data.metrics and "train_loss" in run.data.metrics
    artifacts = [a.path for a in mlflow.MlflowClient().list_artifacts(result.run_id, "pr_curves")]
    assert artifacts and all(p.endswith(".png") for p in artifacts)


def test_thresholds_are_applied_and_bundle_pickles(force: Path, tiny_base: Path, tmp_path: Path) -> None:
    from crimedetect.model.bundle import ModelBundle
    from crimedetect.model.train import train

    train(tiny_config(force, tiny_base, tmp_path / "b", epochs=1), log_to_mlflow=False)
    bundle = ModelBundle(tmp_path / "b")
    records, _ = make_records()
    bundle.thresholds = dict.fromkeys(CATEGORIES, 1.01)
    assert all(p.labels == [] for p in bundle.predict(records))
    bundle.thresholds = dict.fromkeys(CATEGORIES, 0.0)
    assert all(p.labels == list(CATEGORIES) for p in bundle.predict(records))
    copy = pickle.loads(pickle.dumps(bundle))
    assert copy._model is None and copy.thresholds == bundle.thresholds
    first = bundle.predict(records[:2])
    second = copy.predict(records[:2])
    for a, b in zip(first, second, strict=True):
        assert [a.probs[c] for c in CATEGORIES] == pytest.approx([b.probs[c] for c in CATEGORIES], abs=1e-6)


def test_combine_keeps_rule_evidence_and_adds_model_only_disclosures(
    force: Path, tiny_base: Path, tmp_path: Path
) -> None:
    from crimedetect.model.bundle import ModelBundle, RecordPrediction
    from crimedetect.model.ensemble import Stacker
    from crimedetect.model.train import train

    train(tiny_config(force, tiny_base, tmp_path / "b", epochs=1), log_to_mlflow=False)
    bundle = ModelBundle(tmp_path / "b")
    bundle.thresholds = dict.fromkeys(CATEGORIES, 0.5)
    stacker = Stacker()
    stacker.coef_ = np.array([4.0, 0.0, 1.0, 1.0, 0.0])
    stacker.intercept_, stacker.threshold_ = -2.0, 0.5
    bundle.stacker = stacker
    records, _ = make_records()
    record = records[0]
    # the earliest entry at or above a category's threshold: with thresholds of 0, the first
    bundle.thresholds = dict.fromkeys(CATEGORIES, 0.0)
    (read,) = bundle.predict([record])
    assert set(read.labels) == set(CATEGORIES) and {read.first_spans[c][0] for c in CATEGORIES} == {0}
    bundle.thresholds = dict.fromkeys(CATEGORIES, 0.5)
    probs = dict.fromkeys(CATEGORIES, 0.01)
    probs["violence_with_injury"] = 0.6
    probs["theft"] = 0.99
    prediction = RecordPrediction(
        record_id=record.record_id,
        probs=probs,
        entry=dict.fromkeys(CATEGORIES, 1),
        spans={c: (1, 0, 10) for c in CATEGORIES},
    )
    rule = Disclosure(
        category="violence_with_injury",
        victim="V",
        score=0.9,
        by=["rules"],
        evidence=[Evidence(entry=0, start=22, end=45, text=record.entries[0].text[22:45])],
        rule_ids=["r1"],
    )
    weak_rule = Disclosure(category="burglary", score=0.05, by=["rules"], evidence=[])
    # as weak, but a rape report cued as not (yet) a crime: kept for reconcile's N100 check
    report = Disclosure(category="rape", score=0.05, by=["rules"], evidence=[], cues=["unconfirmed"])
    (out,) = bundle.combine([record], [[rule, weak_rule, report]], [prediction])
    by_category = {str(d.category): d for d in out}
    assert set(by_category) == {"violence_with_injury", "theft", "rape"}  # weak burglary dropped
    assert by_category["rape"].score < stacker.threshold_
    assert by_category["rape"].cues == ["unconfirmed"]
    # a weak rape the rules read with no such cue is kept as a report too, cued report_only:
    # every rape report needs a rape crime or an N100 (reconcile-10); other weak categories go
    uncued = Disclosure(category="rape", score=0.05, by=["rules"], evidence=[], cues=["third_party"])
    (out,) = bundle.combine([record], [[weak_rule, uncued]], [prediction])
    (kept_report,) = [d for d in out if str(d.category) == "rape"]
    assert kept_report.cues == ["third_party", "report_only"] and kept_report.score < stacker.threshold_
    assert "burglary" not in {str(d.category) for d in out}
    kept = by_category["violence_with_injury"]
    assert kept.by == ["rules", "model"] and kept.evidence == rule.evidence and kept.rule_ids == ["r1"]
    assert kept.model_score == pytest.approx(0.6)
    theft = by_category["theft"]
    assert theft.by == ["model"] and theft.evidence[0].entry == 1 and theft.first_entry == 1
    assert theft.evidence[0].text == record.entries[1].text[0:10]

    # The principal crime rule: a category only the model found is dropped when the record
    # keeps a rule disclosure it is part of (the common assault in the rules' ABH).
    prediction.probs["violence_without_injury"] = 0.99
    (unfolded,) = bundle.combine([record], [[rule]], [prediction])
    folds = {"violence_without_injury": ["violence_with_injury"], "theft": ["robbery"]}
    (folded,) = bundle.combine([record], [[rule]], [prediction], folds)
    assert {str(d.category) for d in unfolded} == {"violence_with_injury", "violence_without_injury", "theft"}
    assert {str(d.category) for d in folded} == {"violence_with_injury", "theft"}

    # The 24-hour clock starts at the earliest entry the model reads the offence in, when the
    # rules read it only later (the officer's label): its window joins the evidence.
    prediction.first_spans = {"theft": (0, 0, 8)}
    label = Evidence(entry=1, start=0, end=5, text=record.entries[1].text[0:5])
    labelled = Disclosure(
        category="theft", victim="V", score=0.9, by=["rules"], evidence=[label], first_entry=1
    )
    (clocked,) = bundle.combine([record], [[labelled]], [prediction])
    theft = next(d for d in clocked if str(d.category) == "theft")
    assert theft.first_entry == 0 and theft.evidence[0].entry == 0
    assert theft.evidence[0].text == record.entries[0].text[0:8] and theft.evidence[1] == label
    (model_only,) = bundle.combine([record], [[]], [prediction])
    assert next(d for d in model_only if str(d.category) == "theft").first_entry == 0
    # ... but not before an entry the rules read and judged too early, nor for two victims
    read_early = Evidence(entry=0, start=0, end=3, text=record.entries[0].text[0:3])
    judged = Disclosure(
        category="theft", victim="V", score=0.9, by=["rules"], evidence=[read_early, label], first_entry=1
    )
    other = Disclosure(category="theft", victim="W", score=0.9, by=["rules"], evidence=[label], first_entry=1)
    for rules in ([judged], [labelled, other]):
        (kept_late,) = bundle.combine([record], [rules], [prediction])
        assert all(d.first_entry == 1 for d in kept_late if str(d.category) == "theft")


def test_pinned_base_model_is_verified(tmp_path: Path) -> None:
    from crimedetect.model.base import BaseModelError, pinned_models, resolve_base, verify

    base = resolve_base("default")
    assert (base.path / "config.json").exists()
    assert base.sha256 == pinned_models()["models"][base.name]["sha256"]
    fake = tmp_path / "model.safetensors"
    fake.write_bytes(b"not the pinned weights")
    with pytest.raises(BaseModelError, match="expected"):
        verify(fake, base.sha256 or "", "test")
    with pytest.raises(BaseModelError, match="neither"):
        resolve_base(str(tmp_path / "missing"))


def test_config_file_and_code_give_the_same_object(tmp_path: Path) -> None:
    from crimedetect.model.config import ConfigError, TrainConfig, load_config

    path = tmp_path / "c.yaml"
    path.write_text("data:\n  train:\n    - {records: r.jsonl, audits: a.jsonl}\n")
    assert load_config(path) == TrainConfig(data={"train": [{"records": "r.jsonl", "audits": "a.jsonl"}]})
    path.write_text("epochs: zero\ndata:\n  train: []\n")
    with pytest.raises(ConfigError, match="epochs"):
        load_config(path)


def test_shipped_configs_validate() -> None:
    from crimedetect.model.config import load_config

    root = Path(__file__).resolve().parents[1] / "training" / "configs"
    configs = sorted(root.glob("*.yaml"))
    assert {"demo.yaml", "full.yaml"} <= {p.name for p in configs}
    for path in configs:
        load_config(path)


def test_freeze_lower_layers_leaves_top_and_head_trainable(tiny_base: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    from crimedetect.model.train import freeze_lower_layers

    model = AutoModelForSequenceClassification.from_pretrained(tiny_base, local_files_only=True)
    assert freeze_lower_layers(model, 5) == 1  # never the last layer
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert not any(name.startswith(("bert.embeddings", "bert.encoder.layer.0.")) for name in trainable)
    assert any(name.startswith("bert.encoder.layer.1.") for name in trainable)
    assert {"classifier.weight", "classifier.bias"} <= trainable


def test_named_stacker_features_read_rules_cues_and_model_margin() -> None:
    from crimedetect.model.ensemble import stack_features

    rules = [
        [
            Disclosure(category="rape", score=0.8, by=["rules"], rule_ids=["a"], cues=["victim_denies"]),
            Disclosure(category="rape", score=0.9, by=["rules"], rule_ids=["a", "b"], cues=[]),
        ]
    ]
    probs = np.full((1, len(CATEGORIES)), 0.5)
    probs[0, CATEGORIES.index("theft")] = 0.9
    thresholds = dict.fromkeys(CATEGORIES, 0.5)
    names = ["rule_score", "rule_fired:rape", "cue:victim_denies", "rule_mentions", "rule_ids"]
    names.append("model_margin_silent")
    X = stack_features(rules, probs, thresholds, names)
    assert X.shape == (len(CATEGORIES), len(names))
    rape, theft = X[CATEGORIES.index("rape")], X[CATEGORIES.index("theft")]
    assert rape.tolist()[:5] == pytest.approx([0.9, 1.0, 1.0, np.log(3), np.log(3)])
    assert rape[5] == 0.0  # a rule fired: the silent margin stays 0
    assert theft.tolist()[:5] == [0.0] * 5
    assert theft[5] == pytest.approx(np.log(9))  # logit(0.9) - logit(0.5)
    expanded = stack_features(rules, probs, thresholds, ["rule_fired:*"])
    assert expanded.shape == (len(CATEGORIES), len(CATEGORIES))
    assert expanded.sum() == 1.0 and expanded[CATEGORIES.index("rape"), CATEGORIES.index("rape")] == 1.0
    # the model's own weight per category, where no rule fired: one column per category
    silent = stack_features(rules, probs, thresholds, ["model_logit_silent:*"])
    assert silent.shape == (len(CATEGORIES), len(CATEGORIES))
    nonzero = {(r, c) for r, c in zip(*np.nonzero(silent), strict=True)}
    assert nonzero == {(CATEGORIES.index("theft"), CATEGORIES.index("theft"))}  # logit(0.5) is 0
    assert silent[CATEGORIES.index("theft"), CATEGORIES.index("theft")] == pytest.approx(np.log(9))
    with pytest.raises(ValueError, match="unknown stacker feature"):
        stack_features(rules, probs, thresholds, ["model_logit_silent:arson"])


_RAPE, _THEFT, _BURGLARY = np.log(0.2 / 0.8), np.log(9), np.log(1.5)  # model logits


@pytest.mark.parametrize(
    ("disclosed", "category", "expected"),
    [
        # rule_others, model_logit_gap, model_logit_fired_others, model_logit_silent_others
        (["rape"], "rape", [0.0, _RAPE - _THEFT, 0.0, 0.0]),  # nothing else disclosed
        (["rape"], "theft", [np.log(2), _THEFT - _BURGLARY, 0.0, _THEFT]),  # a second offence?
        (["rape"], "burglary", [np.log(2), _BURGLARY - _THEFT, 0.0, _BURGLARY]),
        (["rape", "theft"], "rape", [np.log(2), _RAPE - _THEFT, _RAPE, 0.0]),
        (["rape", "theft"], "burglary", [np.log(3), _BURGLARY - _THEFT, 0.0, _BURGLARY]),
        ([], "theft", [0.0, _THEFT - _BURGLARY, 0.0, 0.0]),
    ],
)
def test_record_context_stacker_features(disclosed: list[str], category: str, expected: list[float]) -> None:
    from crimedetect.model.ensemble import stack_features

    rules = [[Disclosure(category=c, score=0.8, by=["rules"]) for c in disclosed]]
    probs = np.full((1, len(CATEGORIES)), 0.01)
    for c, p in (("rape", 0.2), ("theft", 0.9), ("burglary", 0.6)):
        probs[0, CATEGORIES.index(c)] = p
    names = ["rule_others", "model_logit_gap", "model_logit_fired_others", "model_logit_silent_others"]
    X = stack_features(rules, probs, dict.fromkeys(CATEGORIES, 0.5), names)
    assert X[CATEGORIES.index(category)].tolist() == pytest.approx(expected)


def test_stacker_round_trips_its_features_and_loads_legacy_bundles() -> None:
    from crimedetect.model.ensemble import LEGACY_FEATURES, Stacker

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=200) > 0).astype(int)
    names = ["rule_score", "rule_fired:theft", "cue:historic"]
    stacker = Stacker(features=names, class_weight="balanced").fit(X, y)
    again = Stacker.from_dict(json.loads(json.dumps(stacker.to_dict())))
    assert again.features == names and again.class_weight == "balanced"
    assert again.predict_proba(X) == pytest.approx(stacker.predict_proba(X))
    assert stacker.coef_[0] > 0  # it learned the informative column
    legacy = {"features": list(LEGACY_FEATURES), "coef": [1.0] * 5, "intercept": 0.0, "threshold": 0.5}
    assert Stacker.from_dict(legacy).features == list(LEGACY_FEATURES)  # a bundle.json written before
    with pytest.raises(ValueError, match="unknown stacker feature"):
        Stacker.from_dict({**legacy, "features": ["rule_score", "nope"]})
    with pytest.raises(ValueError, match="coefficients"):
        Stacker.from_dict({**legacy, "coef": [1.0] * 4})
    with pytest.raises(ValueError, match="feature columns"):
        Stacker(features=names).fit(X[:, :2], y)


def test_stacker_threshold_on_repeated_splits_is_steadier() -> None:
    """One out-of-fold split's best-F1 threshold moves with the split; the median over
    repeated splits moves less (same data, seeds 0-7)."""
    from crimedetect.model.ensemble import LEGACY_FEATURES, Stacker

    rng = np.random.default_rng(3)
    y = (rng.random(300) < 0.3).astype(int)
    X = np.column_stack([y + rng.normal(0, 0.9, 300) for _ in LEGACY_FEATURES])

    def spread(repeats: int) -> float:
        thresholds = [Stacker(random_state=s, n_repeats=repeats).fit(X, y).threshold_ for s in range(8)]
        return float(np.ptp(thresholds))

    single, repeated = spread(1), spread(10)
    assert 0.0 < repeated < single


def _bundle_with_stacker(folder: Path, threshold: float) -> Path:
    """A bundle directory whose stacker scores a category by the model's probability alone
    (no encoder is loaded: combine reads the predictions it is given)."""
    from crimedetect.model.ensemble import LEGACY_FEATURES

    coef = [1.0 if name.startswith("model_logit") else 0.0 for name in LEGACY_FEATURES]
    meta = {
        "format": 1,
        "labels": list(CATEGORIES),
        "thresholds": dict.fromkeys(CATEGORIES, 0.5),
        "stacker": {
            "features": list(LEGACY_FEATURES),
            "coef": coef,
            "intercept": 0.0,
            "threshold": threshold,
        },
        "version": "stacked",
    }
    folder.mkdir()
    (folder / "bundle.json").write_text(json.dumps(meta))
    return folder


@pytest.mark.parametrize(
    ("min_score", "lowered", "kept"),
    [
        (None, None, {"theft"}),
        (0.6, None, {"theft"}),  # a finding gate above the stacker's threshold leaves it alone
        (0.3, 0.3, {"theft", "burglary"}),
        (0.0, 0.0, set(CATEGORIES)),  # every score is at least 0
    ],
)
def test_a_lower_finding_score_lowers_the_stacker_threshold(
    tmp_path: Path, min_score: float | None, lowered: float | None, kept: set[str]
) -> None:
    from crimedetect.model.bundle import ModelBundle, RecordPrediction

    bundle = ModelBundle(_bundle_with_stacker(tmp_path / "b", threshold=0.45))
    view = bundle.with_min_score(min_score)
    assert view.lowered_threshold == lowered and bundle.lowered_threshold is None
    assert (view is bundle) == (lowered is None)
    assert view.run_settings == ("" if lowered is None else f"+cut{lowered:g}")
    assert view.stacker_threshold == (0.45 if lowered is None else lowered)
    records, _ = make_records()
    probs = dict.fromkeys(CATEGORIES, 0.0)
    probs.update(theft=0.9, burglary=0.35, robbery=0.01)
    prediction = RecordPrediction(
        record_id=records[0].record_id,
        probs=probs,
        entry=dict.fromkeys(CATEGORIES, 0),
        spans={c: (0, 0, 5) for c in CATEGORIES},
    )
    (out,) = view.combine(records[:1], [[]], [prediction])
    assert {str(d.category) for d in out} == kept
    assert {str(d.category) for d in bundle.combine(records[:1], [[]], [prediction])[0]} == {"theft"}


# Resumable training: an interrupted run, resumed, ends with the bundle of an uninterrupted one.


def interrupt_after_epoch(monkeypatch: pytest.MonkeyPatch, epoch: int) -> None:
    """Stop the run (as a killed job would) right after the checkpoint of ``epoch`` is written."""
    from crimedetect.model import checkpoint

    real_save = checkpoint.save

    def save_then_stop(directory: Path, key: str, state: dict) -> Path:
        path = real_save(directory, key, state)
        if state["epoch"] == epoch:
            raise KeyboardInterrupt
        return path

    monkeypatch.setattr(checkpoint, "save", save_then_stop)


def encoder_weights(bundle_dir: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(bundle_dir / "model" / "model.safetensors"))


def without_timing(history: list[dict[str, float]]) -> list[dict[str, float]]:
    return [{k: v for k, v in row.items() if k != "train_examples_per_s"} for row in history]


@pytest.mark.parametrize("stop_after", [1, 2])
def test_a_resumed_run_ends_with_the_same_bundle(
    force: Path,
    tiny_base: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stop_after: int,
) -> None:
    import torch

    from crimedetect.model import checkpoint
    from crimedetect.model.train import train

    whole = train(tiny_config(force, tiny_base, tmp_path / "whole", epochs=3), log_to_mlflow=False)
    assert not checkpoint.checkpoint_dir(tmp_path / "whole").exists()  # removed once finished

    cfg = tiny_config(force, tiny_base, tmp_path / "resumed", epochs=3)
    saved = checkpoint.checkpoint_dir(cfg.output_dir) / checkpoint.STATE_FILE
    with monkeypatch.context() as patch:
        interrupt_after_epoch(patch, stop_after)
        with pytest.raises(KeyboardInterrupt):
            train(cfg, log_to_mlflow=False)
    assert saved.exists()
    assert not (tmp_path / "resumed" / "bundle.json").exists()

    resumed = train(cfg, log_to_mlflow=False, resume=True)
    assert resumed.resumed_after_epoch == stop_after
    assert whole.resumed_after_epoch is None
    assert not saved.parent.exists()
    assert without_timing(resumed.history) == without_timing(whole.history)
    assert [row["epoch"] for row in resumed.history] == [1.0, 2.0, 3.0]
    a, b = encoder_weights(tmp_path / "whole"), encoder_weights(tmp_path / "resumed")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[name], b[name]) for name in a)
    meta_a = json.loads((tmp_path / "whole" / "bundle.json").read_text())
    meta_b = json.loads((tmp_path / "resumed" / "bundle.json").read_text())
    for field in ("thresholds", "threshold_source", "stacker", "val_metrics"):
        assert meta_a[field] == meta_b[field], field


def test_resume_with_nothing_to_resume_trains_from_the_start(
    force: Path,
    tiny_base: Path,
    tmp_path: Path,
) -> None:
    from crimedetect.model.train import train

    result = train(tiny_config(force, tiny_base, tmp_path / "b", epochs=2), log_to_mlflow=False, resume=True)
    assert [row["epoch"] for row in result.history] == [1.0, 2.0]
    assert result.resumed_after_epoch is None


def test_resume_refuses_a_checkpoint_of_another_config(
    force: Path,
    tiny_base: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from crimedetect.cli import app
    from crimedetect.model import checkpoint
    from crimedetect.model.train import train

    cfg = tiny_config(force, tiny_base, tmp_path / "b", epochs=2)
    with monkeypatch.context() as patch:
        interrupt_after_epoch(patch, 1)
        with pytest.raises(KeyboardInterrupt):
            train(cfg, log_to_mlflow=False)
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    runner = CliRunner()
    changed = runner.invoke(
        app,
        [
            "train",
            "-c",
            str(config),
            "--resume",
            "--no-mlflow",
            "--no-progress",
            "--set",
            "learning_rate=0.001",
        ],
    )
    assert changed.exit_code == 2, changed.output
    assert "another config" in changed.output
    assert (checkpoint.checkpoint_dir(cfg.output_dir) / checkpoint.STATE_FILE).exists()  # kept

    # A runtime setting may change between the two halves.
    same = runner.invoke(
        app,
        ["train", "-c", str(config), "--resume", "--no-mlflow", "--no-progress", "--set", "torch_threads=1"],
    )
    assert same.exit_code == 0, same.output
    assert "resumed after epoch 1 of 2" in same.output
    assert "epoch 1:" in same.output and "epoch 2:" in same.output


def test_a_resumed_run_continues_its_mlflow_run(
    force: Path,
    tiny_base: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mlflow

    from crimedetect.model.train import train

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = tiny_config(force, tiny_base, tmp_path / "b", epochs=2, register_model=False)
    with monkeypatch.context() as patch:
        interrupt_after_epoch(patch, 1)
        with pytest.raises(KeyboardInterrupt):
            train(cfg)
    client = mlflow.MlflowClient()
    (interrupted,) = client.search_runs(client.get_experiment_by_name(cfg.experiment).experiment_id)
    assert interrupted.info.status == "FAILED"

    result = train(cfg, resume=True)
    assert result.run_id == interrupted.info.run_id
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["resumed"] == "true"
    assert [m.step for m in client.get_metric_history(result.run_id, "train_loss")] == [1, 2]

"""notebooks/error_analysis.ipynb runs top to bottom (nbclient) on small flags and audits."""

from __future__ import annotations

from pathlib import Path

import pytest

from crimedetect.contract import Audit, Crime, Flag, Record
from crimedetect.io import write_contract

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "error_analysis.ipynb"
SECRET = "kicked the door in and punched him"


def _files(folder: Path) -> dict[str, Path]:
    records, crimes, audits, flags = [], [], [], []
    for i in range(24):
        rid = f"N{i:03d}"
        records.append(
            Record(record_id=rid, entries=[{"at": "2017-02-01T10:00:00Z", "text": f"{SECRET} {i}"}])
        )
        audit_crimes = []
        findings = []
        disclosed = []
        if i % 2 == 0:
            audit_crimes.append({"category": "violence_with_injury", "evidence": SECRET, "crime_id": None})
        if i % 3 == 0:
            crimes.append(
                Crime(
                    crime_id=f"C{i}",
                    record_ids=[rid],
                    category="burglary",
                    recorded_at="2017-02-03T10:00:00Z",
                )
            )
            audit_crimes.append({"category": "burglary", "evidence": SECRET, "crime_id": f"C{i}"})
            disclosed.append({"category": "burglary", "score": 0.7, "by": ["rules"], "rule_ids": ["B2"]})
            if i % 2:
                findings.append({"type": "late", "category": "burglary", "score": 0.6, "crime_id": f"C{i}"})
        if i % 4 == 0 or i % 5 == 0:
            disclosed.append({"category": "violence_with_injury", "score": 0.5 + i / 100, "by": ["model"]})
            findings.append(
                {"type": "unrecorded", "category": "violence_with_injury", "score": 0.5 + i / 100}
            )
        audits.append(Audit(record_id=rid, crimes=audit_crimes))
        flags.append(
            Flag(
                record_id=rid,
                priority=max([f["score"] for f in findings], default=0.0),
                disclosed=disclosed,
                findings=findings,
            )
        )
    paths = {}
    for kind, items in (("records", records), ("crimes", crimes), ("audits", audits), ("flags", flags)):
        paths[kind] = folder / f"{kind}.jsonl"
        write_contract(paths[kind], items)
    return paths


@pytest.mark.slow
def test_error_analysis_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    paths = _files(tmp_path)
    for kind, path in paths.items():
        monkeypatch.setenv(f"CRIMEDETECT_{kind.upper()}", str(path))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        notebook,
        timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT / "notebooks")}},
    ).execute()
    outputs = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error"
            outputs.append(str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", "")))
    text = "\n".join(outputs)
    assert "24 audited records, 24 with a flag line" in text
    assert "type:unrecorded" in text and "not_disclosed" in text
    assert SECRET not in text

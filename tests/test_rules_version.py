"""The rules version follows the content of the rule files in use, not only their declared
versions: the scan's ``--resume`` and the Spark engine compare it to decide what to redo."""

from __future__ import annotations

from pathlib import Path

import pytest

from crimedetect.contract import Record
from crimedetect.rules import RuleDetector
from crimedetect.rules.pipeline import copy_rules

RECORD = Record.model_validate(
    {
        "record_id": "V-1",
        "entries": [
            {"at": "2017-06-01T10:00:00Z", "text": "IP Jane DOE states zorp Dean SMITH punched her."}
        ],
    }
)


@pytest.fixture()
def copied(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the packaged rules and a config pointing every component at it."""
    path = copy_rules(tmp_path)
    return tmp_path / "rules", path


def _declared(version: str) -> str:
    return version.split("+")[0]


def test_editing_a_copied_rules_dir_changes_the_version(copied: tuple[Path, Path]) -> None:
    rules, config = copied
    before = RuleDetector(str(config))
    assert [d.category for d in before.detect([RECORD])[0]] == ["violence_without_injury"]
    version = before.version
    # An analyst adds a negation trigger and forgets to bump the file's declared version.
    context = rules / "context_rules.yaml"
    context.write_text(
        context.read_text(encoding="utf-8")
        + "  - id: negated.test\n    qualifier: negated\n    direction: forward\n"
        + "    max_scope: 5\n    patterns: ['=zorp']\n",
        encoding="utf-8",
    )
    after = RuleDetector(str(config))
    assert _declared(after.version) == _declared(version)
    assert after.version != version
    # The new version describes rules that really run: the pipeline is rebuilt, not cached.
    assert after.detect([RECORD]) == [[]]
    assert before.version == version  # a built detector keeps the version of what it runs


def test_the_same_content_gives_the_same_version(copied: tuple[Path, Path], tmp_path: Path) -> None:
    _, config = copied
    assert RuleDetector(str(config)).version == RuleDetector(str(config)).version
    other = tmp_path / "other.cfg"
    other.write_text(config.read_text(encoding="utf-8").replace("lookup = true", "lookup = false"))
    assert RuleDetector(str(other)).version != RuleDetector(str(config)).version


@pytest.mark.parametrize("name", ["offence_patterns.yaml", "victims.yaml", "counting.yaml"])
def test_any_rule_file_counts(copied: tuple[Path, Path], name: str) -> None:
    rules, config = copied
    version = RuleDetector(str(config)).version
    path = rules / name
    path.write_text(path.read_text(encoding="utf-8") + "\n# reviewed\n", encoding="utf-8")
    assert RuleDetector(str(config)).version != version


def test_a_built_detector_keeps_the_rules_it_was_built_with(copied: tuple[Path, Path]) -> None:
    """Rule files edited (or broken) after a detector is built change nothing it does: a
    training run scores its validation records with the rules it started with."""
    rules, config = copied
    built = RuleDetector(str(config)).build()
    expected = built.detect([RECORD])
    for name in ("counting.yaml", "victims.yaml", "offence_patterns.yaml"):
        path = rules / name
        path.write_text(path.read_text(encoding="utf-8") + "\nnot_a_field: 1\n", encoding="utf-8")
    assert built.detect([RECORD]) == expected
    with pytest.raises(Exception, match="not_a_field"):
        RuleDetector(str(config)).detect([RECORD])

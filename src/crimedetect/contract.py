"""The data contract (version 1) as pydantic models.

Field names follow ``shared/spec/data-contract.md`` exactly; they are the stable interface
with the systems around crimedetect. Unknown extra fields are kept (``extra="allow"``) and
written back out unchanged. Times must carry a zone (``Z`` or ``+01:00``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

CONTRACT_VERSION = 1


class Category(StrEnum):
    """The 12 offence categories of the contract (HOCR groupings)."""

    violence_with_injury = "violence_with_injury"
    violence_without_injury = "violence_without_injury"
    stalking_harassment = "stalking_harassment"
    rape = "rape"
    other_sexual_offence = "other_sexual_offence"
    modern_slavery = "modern_slavery"
    robbery = "robbery"
    burglary = "burglary"
    theft = "theft"
    criminal_damage_arson = "criminal_damage_arson"
    public_order = "public_order"
    other_notifiable = "other_notifiable"


CATEGORIES: tuple[str, ...] = tuple(c.value for c in Category)

#: Offence families as inspections publish them.
FAMILIES: dict[str, tuple[str, ...]] = {
    "violence": ("violence_with_injury", "violence_without_injury", "stalking_harassment"),
    "sexual_offences": ("rape", "other_sexual_offence"),
    "rape": ("rape",),
}


class RecordKind(StrEnum):
    incident = "incident"
    safeguarding = "safeguarding"
    modern_slavery = "modern_slavery"
    other = "other"


class CrimeStatus(StrEnum):
    recorded = "recorded"
    cancelled = "cancelled"
    transferred = "transferred"
    n100 = "n100"


class FindingType(StrEnum):
    unrecorded = "unrecorded"
    misclassified = "misclassified"
    late = "late"
    n100_missing = "n100_missing"
    cancellation_unsupported = "cancellation_unsupported"


def _zoned(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("time has no zone; write it as 2017-01-04T21:13:00Z or with +01:00")
    return value


ZonedTime = Annotated[datetime, AfterValidator(_zoned)]


def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


NonBlank = Annotated[str, AfterValidator(_non_blank)]


class ContractModel(BaseModel):
    """Base: keeps unknown fields, validates on assignment, serialises times as given."""

    model_config = ConfigDict(
        extra="allow", use_enum_values=True, validate_assignment=True, validate_default=True
    )

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with contract field order, extras last."""
        return self.model_dump(mode="json")


class Entry(ContractModel):
    """One log entry: who wrote what, when."""

    at: ZonedTime
    text: NonBlank
    author: str | None = None


class Record(ContractModel):
    """A source record: an incident log or another system's notes."""

    record_id: NonBlank
    kind: RecordKind = RecordKind.incident
    opened_at: ZonedTime | None = None
    opening_code: str | None = None
    closing_code: str | None = None
    linked_record_ids: list[str] = Field(default_factory=list)
    entries: list[Entry] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_opened_at(self) -> Record:
        if self.opened_at is None and self.entries:
            object.__setattr__(self, "opened_at", self.entries[0].at)
        return self

    def entries_out_of_order(self) -> list[int]:
        """Indices of entries written earlier than the entry before them."""
        return [i for i in range(1, len(self.entries)) if self.entries[i].at < self.entries[i - 1].at]


class Crime(ContractModel):
    """A crime record: what the force recorded."""

    crime_id: NonBlank
    record_ids: list[str] = Field(default_factory=list)
    category: Category | None = None
    offence_code: str | None = None
    victim: str | None = None
    recorded_at: ZonedTime | None = None
    status: CrimeStatus = CrimeStatus.recorded
    cancellation_reason: str | None = None

    @field_validator("offence_code")
    @classmethod
    def _normalise_code(cls, value: str | None) -> str | None:
        return value.strip().upper() if value else None

    @model_validator(mode="after")
    def _category_or_code(self) -> Crime:
        if self.category is None:
            if self.offence_code is None:
                raise ValueError("a crime needs a category or an offence_code")
            from crimedetect.hocr import category_for_code

            if category_for_code(self.offence_code) is None:
                raise ValueError(
                    f"offence_code {self.offence_code!r} is not in resources/hocr_codes.csv "
                    "and no category is given"
                )
        return self

    @property
    def resolved_category(self) -> str:
        """The category given, else the one the HOCR code table maps the code to."""
        if self.category is not None:
            return str(self.category)
        from crimedetect.hocr import category_for_code

        return str(category_for_code(self.offence_code or ""))


class AuditCrime(ContractModel):
    """One crime an auditor says should have been recorded from the record."""

    category: Category
    victim: str | None = None
    evidence: str | None = None
    crime_id: str | None = None


class Audit(ContractModel):
    """An auditor's verdict on one source record: the ground truth."""

    record_id: NonBlank
    auditor: str | None = None
    audited_at: ZonedTime | None = None
    crimes: list[AuditCrime] = Field(default_factory=list)
    n100_required: bool = False
    notes: str | None = None


class Evidence(ContractModel):
    """A span of one entry's text supporting a disclosure."""

    entry: int = Field(ge=0)
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str

    @model_validator(mode="after")
    def _ordered(self) -> Evidence:
        if self.end < self.start:
            raise ValueError("evidence end is before its start")
        return self


class Disclosure(ContractModel):
    """An offence the pipeline finds in a record's text."""

    category: Category
    victim: str | None = None
    score: float = Field(ge=0.0, le=1.0)
    by: list[str] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)


class Finding(ContractModel):
    """A likely recording failure found in one record."""

    type: FindingType
    category: Category
    count: int = Field(default=1, ge=1)
    score: float = Field(ge=0.0, le=1.0)
    detail: str = ""
    crime_id: str | None = None


class Flag(ContractModel):
    """One line of ``flags.jsonl``: what a scan says of one source record."""

    record_id: NonBlank
    disclosed: list[Disclosure] = Field(default_factory=list)
    crime_ids: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    priority: float = Field(ge=0.0, le=1.0)


#: File kinds of the contract, the model for each and the field that identifies a line.
KINDS: dict[str, tuple[type[ContractModel], str]] = {
    "records": (Record, "record_id"),
    "crimes": (Crime, "crime_id"),
    "audits": (Audit, "record_id"),
    "flags": (Flag, "record_id"),
}

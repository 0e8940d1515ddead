"""Field types shared by the settings files (rule files, gate, reconcile): checked on load."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator


def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from exc
    return pattern


#: A setting that is a regular expression; a bad one fails when its file is loaded.
Regex = Annotated[str, AfterValidator(_compiles)]

"""A tiny template grammar for compositional phrases, compiled once and rendered fast.

Syntax (used in the phrase-bank YAML files):

- ``[a|b|c]``  pick one alternative at random; alternatives may be empty (``[very |]``)
  and may nest (``[hit [him|her]|kicked out]``);
- ``{name}``   a slot filled from the render context (victim name, pronouns, places...);
- ``{@frag}``  a named fragment of the bank: a list of templates, one picked at random.

Literal ``[``, ``]``, ``{``, ``}`` and ``|`` cannot be written; phrase banks do not need them.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass

# A compiled template is a tuple of parts; a part is a literal str, a Slot, a Frag or a Choice.


@dataclass(frozen=True, slots=True)
class Slot:
    name: str


@dataclass(frozen=True, slots=True)
class Frag:
    name: str


@dataclass(frozen=True, slots=True)
class Choice:
    options: tuple[tuple[object, ...], ...]


Template = tuple[object, ...]


class TemplateError(ValueError):
    """A template that does not parse; the message names the template and the position."""


_TOKEN = re.compile(r"\[|\]|\||\{@?[A-Za-z_][A-Za-z0-9_]*\}|[^\[\]|{}]+|[{}]")


def compile_template(text: str) -> Template:
    """Parse ``text`` into a template; raises TemplateError on unbalanced brackets."""
    tokens = _TOKEN.findall(text)
    if "".join(tokens) != text:
        raise TemplateError(f"cannot tokenise template {text!r}")
    pos = 0

    def seq(depth: int) -> tuple[list[object], str | None]:
        nonlocal pos
        parts: list[object] = []
        while pos < len(tokens):
            tok = tokens[pos]
            pos += 1
            if tok == "[":
                options: list[tuple[object, ...]] = []
                while True:
                    sub, end = seq(depth + 1)
                    options.append(tuple(sub))
                    if end == "]":
                        break
                    if end is None:
                        raise TemplateError(f"unclosed '[' in template {text!r}")
                parts.append(Choice(tuple(options)))
            elif tok in ("]", "|"):
                if depth == 0:
                    raise TemplateError(f"unexpected {tok!r} at top level of template {text!r}")
                return parts, tok
            elif tok.startswith("{@"):
                parts.append(Frag(tok[2:-1]))
            elif tok.startswith("{") and len(tok) > 2:
                parts.append(Slot(tok[1:-1]))
            elif tok in ("{", "}"):
                raise TemplateError(f"stray {tok!r} in template {text!r}")
            else:
                if parts and isinstance(parts[-1], str):
                    parts[-1] = parts[-1] + tok
                else:
                    parts.append(tok)
        return parts, None

    parts, end = seq(0)
    if end is not None:
        raise TemplateError(f"unbalanced brackets in template {text!r}")
    return tuple(parts)


def slots_of(template: Template) -> set[str]:
    """Every slot name a template (not its fragments) may use."""
    names: set[str] = set()
    for part in template:
        if isinstance(part, Slot):
            names.add(part.name)
        elif isinstance(part, Choice):
            for option in part.options:
                names |= slots_of(option)
    return names


def frags_of(template: Template) -> set[str]:
    """Every fragment name a template refers to."""
    names: set[str] = set()
    for part in template:
        if isinstance(part, Frag):
            names.add(part.name)
        elif isinstance(part, Choice):
            for option in part.options:
                names |= frags_of(option)
    return names


def render(
    template: Template,
    rng: random.Random,
    slots: Mapping[str, str],
    frags: Mapping[str, list[Template]],
) -> str:
    """Render a compiled template: choose alternatives, fill slots, expand fragments."""
    out: list[str] = []
    _render_into(template, rng, slots, frags, out)
    return _tidy("".join(out))


def _render_into(
    template: Template,
    rng: random.Random,
    slots: Mapping[str, str],
    frags: Mapping[str, list[Template]],
    out: list[str],
) -> None:
    for part in template:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, Slot):
            out.append(slots[part.name])
        elif isinstance(part, Choice):
            _render_into(part.options[int(rng.random() * len(part.options))], rng, slots, frags, out)
        else:
            options = frags[part.name]  # type: ignore[union-attr]
            _render_into(options[int(rng.random() * len(options))], rng, slots, frags, out)


_SPACES = re.compile(r" {2,}")
_SPACE_PUNCT = re.compile(r" ([,.;:!?])")


def _tidy(text: str) -> str:
    """Collapse the double spaces and ' ,' that empty alternatives leave behind."""
    if "  " in text:
        text = _SPACES.sub(" ", text)
    if " ," in text or " ." in text or " ;" in text:
        text = _SPACE_PUNCT.sub(r"\1", text)
    return text.strip()


def capitalise(text: str) -> str:
    """Upper-case the first letter only (keeps SURNAMES and abbreviations as they are)."""
    return text[:1].upper() + text[1:] if text else text


# ------------------------------------------------------------------------------ typos

_COMMON_MISSPELLINGS: dict[str, str] = {
    "separately": "seperately",
    "address": "adress",
    "received": "recieved",
    "definitely": "definately",
    "couldn't": "couldnt",
    "didn't": "didnt",
    "doesn't": "doesnt",
    "wasn't": "wasnt",
    "won't": "wont",
    "she's": "shes",
    "he's": "hes",
    "neighbour": "neighbor",
    "believe": "beleive",
    "until": "untill",
    "immediately": "immediatly",
    "occasion": "occassion",
    "threatening": "threatning",
    "harassment": "harrassment",
    "aggressive": "agressive",
    "embarrassed": "embarassed",
    "their": "there",
    "arrived": "arived",
}

_WORD = re.compile(r"\b[a-z][a-z']{3,}\b")


def add_typos(text: str, rng: random.Random, rate: float) -> str:
    """Misspell some lower-case words (never names in capitals or numbers).

    ``rate`` is the chance that one word of the text is misspelt; a text gets at most two.
    """
    if rate <= 0 or rng.random() >= rate:
        return text
    words = list(_WORD.finditer(text))
    if not words:
        return text
    for _ in range(1 + (rng.random() < 0.25)):
        match = words[int(rng.random() * len(words))]
        word = match.group(0)
        wrong = _COMMON_MISSPELLINGS.get(word)
        if wrong is None:
            i = 1 + int(rng.random() * (len(word) - 2))
            kind = rng.random()
            if kind < 0.4:  # swap two letters
                wrong = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            elif kind < 0.7:  # drop a letter
                wrong = word[:i] + word[i + 1 :]
            else:  # double a letter
                wrong = word[: i + 1] + word[i] + word[i + 1 :]
        text = text[: match.start()] + wrong + text[match.end() :]
        words = list(_WORD.finditer(text))
        if not words:
            break
    return text


def count_forms(template: Template, frags: Mapping[str, list[Template]]) -> int:
    """How many surface forms a template can take, slots left as they are (an upper bound:
    two paths may give the same words)."""
    total = 1
    for part in template:
        if isinstance(part, Choice):
            total *= sum(count_forms(option, frags) for option in part.options)
        elif isinstance(part, Frag):
            total *= sum(count_forms(option, frags) for option in frags[part.name])
    return total

"""Report text → sections (by the headings in rules/daily.toml) and metrics (numbers)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ..config.policy import DailyRules, Section

# Decorations around a heading: numbering (一、 1. 1、 (1) ①), brackets 【】[]〔〕, markdown.
_NUMBERING = re.compile(
    r"^\s*(?:[#*]+\s*)?(?:[一二三四五六七八九十]+\s*[、.．]|\d{1,2}\s*[、.．)）]|"
    r"[(（]\s*[一二三四五六七八九十\d]{1,2}\s*[)）]|[①②③④⑤⑥⑦⑧⑨⑩])?\s*")
_BRACKETS = re.compile(r"^[【\[〔〖<《]\s*(?P<name>[^】\]〕〗>》]{1,20}?)\s*[】\]〕〗>》]\s*(?P<rest>.*)$")
_COLON = re.compile(r"^(?P<name>[^:：]{1,20}?)\s*[:：]\s*(?P<rest>.*)$")


@dataclass(frozen=True)
class Extracted:
    fields: dict[str, str]
    metrics: dict[str, int | float]
    missing: tuple[str, ...]   # headings of required sections that are absent or empty


def _normalise(text: str) -> str:
    """Full-width digits and punctuation to ASCII; keeps Chinese as it is."""
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=16)
def _heading_index(sections: tuple[Section, ...]) -> dict[str, str]:
    index: dict[str, str] = {}
    for s in sections:
        for name in s.names:
            index[_normalise(name).strip().lower()] = s.key
    return index


def _match_heading(line: str, index: dict[str, str]) -> tuple[str, str] | None:
    """(section key, inline content) when the (normalised) line is a heading, else None."""
    text = line.strip().strip("*").strip()
    if not text:
        return None
    text = _NUMBERING.sub("", text, count=1).strip().strip("*").strip()
    m = _BRACKETS.match(text)
    if m:
        key = index.get(m.group("name").strip().lower())
        return (key, m.group("rest").strip().lstrip(":：").strip()) if key else None
    m = _COLON.match(text)
    if m:
        key = index.get(m.group("name").strip().strip("*").strip().lower())
        return (key, m.group("rest").strip()) if key else None
    key = index.get(text.rstrip(":：").strip().lower())
    return (key, "") if key else None


def split_sections(text: str, sections: tuple[Section, ...]) -> dict[str, str]:
    index = _heading_index(sections)
    found: dict[str, list[str]] = {}
    current: str | None = None
    lines = text.split("\n")
    # Normalised once for the whole text, not line by line (a call per line cost a fifth
    # of judging a report): NFKC never makes or joins a line break, so lines stay paired.
    normal = _normalise(text).split("\n")
    if len(normal) != len(lines):
        normal = [_normalise(line) for line in lines]
    for line, plain in zip(lines, normal):
        hit = _match_heading(plain, index)
        if hit:
            current, inline = hit
            found.setdefault(current, [])
            if inline:
                found[current].append(inline)
            continue
        if current is not None:
            found[current].append(line.rstrip())
    return {key: "\n".join(lines).strip() for key, lines in found.items()}


_NUMBER = re.compile(r"(?P<num>\d+(?:,\d{3})*(?:\.\d+)?|\.\d+)\s*(?P<unit>万|千|百|w|k)?",
                     re.I)
_UNITS = {"万": 10000, "w": 10000, "千": 1000, "k": 1000, "百": 100}


def parse_number(text: str) -> int | float | None:
    """The first number in text: 12,000 / 1.2万 / ¥12000.00 / ３２００ → a float."""
    m = _NUMBER.search(_normalise(text))
    if not m:
        return None
    try:
        value = Decimal(m.group("num").replace(",", ""))
    except InvalidOperation:
        return None
    unit = (m.group("unit") or "").lower()
    value *= _UNITS.get(unit, 1)
    # Whole amounts stay whole numbers in JSON and CSV (12000, not 12000.0).
    return int(value) if value == value.to_integral_value() else float(value)


def extract(text: str, rules: DailyRules) -> Extracted:
    fields = split_sections(text, rules.sections)
    missing = tuple(s.heading for s in rules.sections if s.required and not fields.get(s.key))
    metrics: dict[str, int | float] = {}
    for metric in rules.metrics:
        source = fields.get(metric.section, "")
        if not source:
            continue
        if metric.pattern is not None:
            m = metric.pattern.search(_normalise(source))
            value = parse_number(m.group(1)) if m else None
        else:
            value = parse_number(source)
        if value is not None:
            metrics[metric.name] = value
    return Extracted(fields, metrics, missing)

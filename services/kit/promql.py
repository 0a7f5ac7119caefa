"""The series names a PromQL expression reads (for checking rules and dashboards against
the metrics catalogue). A small lexer, not a parser: it drops strings, label matchers,
range selectors and grouping clauses, then keeps identifiers that are not functions,
keywords or aggregation modifiers."""

from __future__ import annotations

import re

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_BRACES = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(
    r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", re.IGNORECASE
)
_IDENT = re.compile(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?")
KEYWORDS = {
    "and", "or", "unless", "offset", "bool", "by", "without", "on", "ignoring",
    "group_left", "group_right", "inf", "nan", "atan2", "start", "end",
}  # fmt: skip


def series_in(expr: str) -> set[str]:
    """Names of the series `expr` selects (functions, keywords and labels removed)."""
    text = _STRINGS.sub('""', expr)
    text = _BRACES.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)  # Grafana variables outside selectors
    names = set()
    for match in _IDENT.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in KEYWORDS:
            continue
        if re.fullmatch(r"\d+[smhdwy]", name):
            continue
        names.add(name)
    return names


_SELECTOR = re.compile(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^{}]*)\}")
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")


def selectors(expr: str) -> list[tuple[str, set[str]]]:
    """(series name, label names it matches on) for each `name{...}` selector in `expr`."""
    text = _STRINGS.sub('""', expr)
    found = []
    for match in _SELECTOR.finditer(text):
        found.append((match.group(1), set(_MATCHER.findall(match.group(2)))))
    return found


def label_values_query(definition: str) -> str:
    """The series expression inside a Grafana `label_values(expr, label)` definition."""
    inner = definition.strip()
    if inner.startswith("label_values(") and inner.endswith(")"):
        inner = inner[len("label_values(") : -1]
        expr, _, _label = inner.rpartition(",")
        return expr.strip() or _label.strip()
    return definition

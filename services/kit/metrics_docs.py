"""The metrics catalogue as data: every series registered in prometheus_client's REGISTRY
once `puhui.kit.metrics` and each `puhui.<service>.metrics` are imported, the naming rules
they must follow, and the Markdown page (docs/metrics.md) generated from them.

`tools/metricsdoc.py` writes or checks the page. Run it in a fresh process: the registry is
process-global, so the catalogue is "what these modules register at import".
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

# Label names whose values come from a small, known set. A new label must be added here
# with what bounds it: ids, names, addresses and free text are never labels.
BOUNDED_LABELS: dict[str, str] = {
    "node": "node id: 000000 or a province's GB/T 2260 code (≤ 35)",
    "service": "identity, catalog, data, feedback",
    "target_service": "the service called (four services, or a node's hub)",
    "method": "gRPC methods declared in proto/",
    "code": "gRPC status codes (17)",
    "topic": "topics puhui.<node>.<service>.<stream>: nodes × services × streams",
    "group": "consumer groups declared in code",
    "partition": "partitions of a topic (3 by default)",
    "outcome": "applied, duplicate, dead_lettered, retried",
    "dependency": "database, kafka, redis",
    "operation": "Redis command names / declared operations",
    "version": "the release running",
    "source_node": "node id of the event's source",
    "pool": "write, read",
    "channel": "rating channels declared in proto (web, app, kiosk, …)",
    "bad": "true, false",
    "level": "rating levels 1-5",
    "decision": "appeal decisions declared in proto",
    "kind": "enumerations declared in proto",
    "grouped": "true, false",
    "tier": "institution tiers declared in proto",
    "status": "lifecycle states declared in proto",
    "result": "outcomes declared in proto (e.g. sign-in results)",
    "dataset": "patents, trademarks, geographical_indications, ic_layouts",
    "quota": "quota kinds declared in code",
    "reason": "reasons declared in code (never free text)",
    "stream": "topic streams declared in code",
    "lane": "unary, stream, reflection, health (puhui.kit.admission)",
}

# Business series the issue asks for, which the services declare in puhui.<svc>.metrics.
# Alerts and dashboards use these names; the page lists those not declared yet.
EXPECTED_BUSINESS_SERIES: dict[str, tuple[str, str, str]] = {
    # exposed name: (owner, labels, meaning)
    "puhui_identity_registrations_total": ("identity", "node, kind", "accounts registered"),
    "puhui_identity_sign_ins_total": ("identity", "node, result", "sign-in attempts by result"),
    "puhui_catalog_institutions": ("catalog", "node, tier, status", "institutions by tier, status"),
    "puhui_feedback_ratings_accepted_total": (
        "feedback",
        "node, channel, bad (+ level)",
        "ratings by channel and level",
    ),
    "puhui_feedback_tickets_open": ("feedback", "node", "open bad-review rectification tickets"),
    "puhui_feedback_ticket_deadline_breached_total": (
        "feedback",
        "node",
        "tickets past their deadline",
    ),
    "puhui_data_quota_rejections_total": ("data", "node, quota", "requests refused by a quota"),
    "puhui_data_mirror_completeness_ratio": (
        "data",
        "node, dataset",
        "share of the hub's records present in this node's mirror (0-1)",
    ),
}

RUNTIME_PREFIXES = ("process_", "python_")
UNIT_SUFFIXES = {
    "seconds": "seconds",
    "bytes": "bytes",
    "ratio": "ratio (0-1)",
    "records": "records",
    "events": "events",
    "connections": "connections",
    "requests": "requests",
    "info": "(info: value 1)",
}
NON_BASE_UNITS = re.compile(
    r"_(milliseconds|millis|ms|microseconds|us|minutes|hours|days|kilobytes|kb|megabytes|mb|"
    r"percent|pct)(_|$)"
)
TIME_WORDS = re.compile(r"_(duration|latency|age|lag|delay|time|elapsed|handling)(_|$)")
COUNT_UNITS = ("_records", "_events", "_connections", "_requests")
NAME_RE = re.compile(r"^puhui_[a-z][a-z0-9_]*[a-z0-9]$")


@dataclass(frozen=True)
class MetricEntry:
    name: str  # the exposed name (counters with _total)
    type: str  # counter, gauge, histogram, summary, info
    help: str
    labels: tuple[str, ...]
    module: str
    samples: tuple[str, ...] = field(default=())  # names of the series it exposes

    @property
    def unit(self) -> str:
        for word in reversed(self.name.removesuffix("_total").split("_")):
            if word in UNIT_SUFFIXES:
                return UNIT_SUFFIXES[word]
        return "1 (count)" if self.type == "counter" else "1"


def service_metric_modules() -> list[str]:
    """`puhui.kit.metrics` and every `puhui.<svc>.metrics` that exists."""
    import puhui

    names = ["puhui.kit.metrics"]
    for info in sorted(pkgutil.iter_modules(puhui.__path__), key=lambda i: i.name):
        if not info.ispkg or info.name == "kit":
            continue
        candidate = f"puhui.{info.name}.metrics"
        if importlib.util.find_spec(candidate) is not None:
            names.append(candidate)
    return names


def import_metric_modules() -> list[ModuleType]:
    return [importlib.import_module(name) for name in service_metric_modules()]


def _declaring_modules(modules: Iterable[ModuleType]) -> dict[int, str]:
    owners: dict[int, str] = {}
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, MetricWrapperBase):
                owners[id(value)] = module.__name__
    return owners


def _samples(kind: str, base: str) -> tuple[str, ...]:
    if kind == "counter":
        return (f"{base}_total", f"{base}_created")
    if kind == "histogram":
        return (f"{base}_bucket", f"{base}_count", f"{base}_sum", f"{base}_created")
    if kind == "summary":
        return (f"{base}_count", f"{base}_sum", f"{base}_created")
    if kind == "info":
        return (f"{base}_info",)
    return (base,)


def catalogue(
    registry: Any = REGISTRY, modules: Iterable[ModuleType] | None = None
) -> list[MetricEntry]:
    """Every metric family in `registry`, sorted by name (runtime collectors included)."""
    owners = _declaring_modules(import_metric_modules() if modules is None else modules)
    entries: dict[str, MetricEntry] = {}
    collectors = list(registry._collector_to_names)  # no public listing of collectors
    for collector in collectors:
        if isinstance(collector, MetricWrapperBase):
            kind = str(collector._type)
            base = collector._name
            exposed = f"{base}_total" if kind == "counter" else base
            entries[exposed] = MetricEntry(
                name=exposed,
                type=kind,
                help=collector._documentation,
                labels=tuple(collector._labelnames),
                module=owners.get(id(collector), "(unknown)"),
                samples=_samples(kind, base),
            )
            continue
        for family in collector.collect():  # runtime collectors: process_*, python_*
            kind = str(family.type)
            exposed = f"{family.name}_total" if kind == "counter" else family.name
            labels: set[str] = set()
            for sample in family.samples:
                labels.update(sample.labels)
            labels.discard("le")
            labels.discard("quantile")
            entries[exposed] = MetricEntry(
                name=exposed,
                type=kind,
                help=family.documentation,
                labels=tuple(sorted(labels)),
                module=f"prometheus_client ({type(collector).__name__})",
                samples=_samples(kind, family.name),
            )
    return sorted(entries.values(), key=lambda e: e.name)


def is_runtime(entry: MetricEntry) -> bool:
    return entry.name.startswith(RUNTIME_PREFIXES)


def naming_problems(entry: MetricEntry) -> list[str]:
    """What is wrong with one declared metric, by the project's Prometheus naming rules."""
    if is_runtime(entry):
        return []
    name = entry.name
    problems = []
    if not NAME_RE.match(name):
        problems.append("name must be puhui_ + lower_snake_case")
    if entry.type == "counter" and not name.endswith("_total"):
        problems.append("a counter's name ends in _total")
    if entry.type != "counter" and name.endswith("_total"):
        problems.append("only counters end in _total")
    if NON_BASE_UNITS.search(name):
        problems.append("use base units: seconds, bytes, ratio (not ms, minutes, percent, kb)")
    base = name.removesuffix("_total")
    if TIME_WORDS.search(base) and not base.endswith(("_seconds", *COUNT_UNITS)):
        problems.append("a duration, age or lag is measured in _seconds (or in _records)")
    if entry.type == "histogram" and not base.endswith(
        ("_seconds", "_bytes", "_ratio", *COUNT_UNITS)
    ):
        problems.append("a histogram's name ends with its unit (_seconds, _bytes, …)")
    if "node" not in entry.labels:
        problems.append("every series carries the node label")
    unbounded = [label for label in entry.labels if label not in BOUNDED_LABELS]
    if unbounded:
        problems.append(
            f"labels {unbounded} are not known to be bounded (add them to BOUNDED_LABELS "
            "in puhui.kit.metrics_docs with what bounds their values)"
        )
    if not entry.help.strip():
        problems.append("help text is empty")
    return problems


def series_names(entries: Iterable[MetricEntry]) -> set[str]:
    """Every sample name the catalogue's metrics expose (for checking PromQL)."""
    names: set[str] = set()
    for entry in entries:
        names.update(entry.samples)
    return names


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(entries: list[MetricEntry]) -> str:
    declared = [e for e in entries if not is_runtime(e)]
    runtime = [e for e in entries if is_runtime(e)]
    by_module: dict[str, list[MetricEntry]] = {}
    for entry in declared:
        by_module.setdefault(entry.module, []).append(entry)
    lines = [
        "# Metrics catalogue",
        "",
        "Generated by `python tools/metricsdoc.py` from the metrics registered by",
        "`puhui.kit.metrics` and each `puhui.<service>.metrics`; do not edit by hand",
        "(`tests/test_observability_catalogue.py` fails when this page is stale).",
        "",
        "Rules every name follows (checked by the same test): `puhui_` prefix, lower snake",
        "case, base units (`_seconds`, `_bytes`, `_ratio`), counters end in `_total`, every",
        "series has a `node` label, and every label's values come from a small known set",
        "(`BOUNDED_LABELS` in `puhui.kit.metrics_docs`). Counters and histograms also expose",
        "`_created`; histograms expose `_bucket`, `_count` and `_sum`.",
        "",
    ]
    for module in sorted(by_module, key=lambda m: (m != "puhui.kit.metrics", m)):
        lines += [f"## `{module}`", ""]
        lines += ["| name | type | unit | labels | help |", "|---|---|---|---|---|"]
        for e in by_module[module]:
            labels = ", ".join(f"`{label}`" for label in e.labels)
            lines.append(f"| `{e.name}` | {e.type} | {e.unit} | {labels} | {_cell(e.help)} |")
        lines.append("")
    exposed = {e.name for e in declared}
    missing = {k: v for k, v in EXPECTED_BUSINESS_SERIES.items() if k not in exposed}
    lines += ["## Business series expected from the services", ""]
    if missing:
        lines += [
            "Alerts and dashboards use these names; the owning service has not declared them",
            "yet (declare them in `puhui.<service>.metrics`, then regenerate this page).",
            "",
            "| name | owner | labels | meaning |",
            "|---|---|---|---|",
        ]
        for name, (owner, labels, meaning) in sorted(missing.items()):
            lines.append(f"| `{name}` | {owner} | {labels} | {meaning} |")
    else:
        lines.append("All declared.")
    lines += [
        "",
        "## Runtime series (prometheus_client's own collectors)",
        "",
        "Exposed by every process without a `node` label; the Prometheus scrape configuration",
        "adds `node` (and `service`) as target labels (deploy/prometheus/).",
        "",
        "| name | type | help |",
        "|---|---|---|",
    ]
    for e in runtime:
        lines.append(f"| `{e.name}` | {e.type} | {_cell(e.help)} |")
    lines.append("")
    return "\n".join(lines)

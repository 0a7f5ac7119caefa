"""One JSON-lines log format for every Puhui process.

Each line: time, level, logger, message, node, service, trace_id, span_id (from the current
OpenTelemetry span, when there is one) and any `extra=` fields. Values under secret-looking
keys are replaced by "[redacted]", and messages, string values and tracebacks are scrubbed
of bearer tokens, JWTs, resident ID numbers, `password=…`-style pairs and URL passwords:
secrets and ID numbers never reach a log line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

SECRET_KEY_RE = re.compile(
    r"(password|passwd|secret|token|authorization|id_number|credential|private|api_key)", re.I
)
# Secrets that slip into message text or exception messages: bearer tokens, JWTs, resident
# ID numbers (GB 11643: 17 digits + check digit), key=value pairs with a secret-looking key,
# and passwords in URLs.
_SCRUB = [
    (re.compile(r"(?i)\bbearer\s+[\w.~+/=-]+"), "Bearer [redacted]"),
    (re.compile(r"\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*"), "[redacted jwt]"),
    (
        re.compile(
            r"(?<![\d])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx](?![\d])"
        ),
        "[redacted id]",
    ),
    (
        re.compile(
            r"(?i)\b((?:password|passwd|secret|token|api_key|id_number)[\w-]*)(\s*[=:]\s*)([^\s,;&'\"]+)"
        ),
        r"\1\2[redacted]",
    ),
    (re.compile(r"(\w+://[^:/@\s]+:)[^@\s]+@"), r"\1[redacted]@"),
]
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def scrub(text: str) -> str:
    """`text` with tokens, JWTs, ID numbers, secret key=value pairs and URL passwords removed."""
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any, key: str = "") -> Any:
    if key and SECRET_KEY_RE.search(key):
        return "[redacted]"
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return scrub(value)
    return value


class JsonFormatter(logging.Formatter):
    def __init__(self, node: str = "", service: str = "") -> None:
        super().__init__()
        self.node = node
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
            "node": self.node,
            "service": self.service,
        }
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            line["trace_id"] = format(ctx.trace_id, "032x")
            line["span_id"] = format(ctx.span_id, "016x")
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = redact(value, key)
        # Fields safe by construction (names, codes, numbers, hex digests: the access log's),
        # written without the scrubbing regexes, which cost ~200 µs a line.
        line.update(getattr(record, "_fields", None) or ())
        if record.exc_info:
            line["exc_info"] = scrub(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class _CurrentStderr:
    """Whatever `sys.stderr` is when a line is written, not when logging was configured: a
    replaced stream (a test's capture, a redirect) that is later closed must not break
    every later line."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(service: str, node: str, level: str = "INFO", stream: Any = None) -> None:
    """Install the JSON formatter on the root logger (idempotent)."""
    root = logging.getLogger()
    handler = logging.StreamHandler(stream or _CurrentStderr())
    handler.setFormatter(JsonFormatter(node=node, service=service))
    for old in [h for h in root.handlers if getattr(h, "_puhui", False)]:
        root.removeHandler(old)
    handler._puhui = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("kafka", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))

"""One JSON-lines format: time, level, logger, message, node, service, and the trace and
span ids of the current span; secrets and ID numbers never reach a line."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime

import pytest

from puhui.kit import logs, tracing


@pytest.fixture
def lines():
    stream = io.StringIO()
    logs.configure("catalog", "440000", "INFO", stream=stream)
    root = logging.getLogger()
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        for handler in [h for h in root.handlers if getattr(h, "_puhui", False)]:
            root.removeHandler(handler)


def test_a_line_has_the_fields_and_the_span_of_its_request(lines):
    tracing.setup("catalog", "440000")
    log = logging.getLogger("puhui.catalog.test")
    log.info("outside any span")
    with tracing.tracer("test").start_as_current_span("GetInstitution") as span:
        log.warning("inside %s", "a span", extra={"institution": "440000-000001"})
    outside, inside = lines()
    for line in (outside, inside):
        assert {"time", "level", "logger", "message", "node", "service"} <= set(line)
        assert line["node"] == "440000"
        assert line["service"] == "catalog"
        assert datetime.fromisoformat(line["time"]).utcoffset().total_seconds() == 0
    assert "trace_id" not in outside
    ctx = span.get_span_context()
    assert inside["trace_id"] == format(ctx.trace_id, "032x")
    assert inside["span_id"] == format(ctx.span_id, "016x")
    assert inside["level"] == "WARNING"
    assert inside["message"] == "inside a span"
    assert inside["institution"] == "440000-000001"


JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJwMSIsImV4cCI6MX0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
ID_NUMBER = "44010619900307123X"


@pytest.mark.parametrize(
    "message",
    [
        f"Bearer {JWT}",
        f"token {JWT} rejected",
        f"person {ID_NUMBER} registered",
        "login failed password=hunter2 for a@b.cn",
        "connecting to postgresql://puhui:s3cret@db:5432/puhui",
    ],
)
def test_secrets_in_messages_are_scrubbed(lines, message):
    logging.getLogger("puhui.test").info(message)
    (line,) = lines()
    text = json.dumps(line)
    for secret in (JWT, ID_NUMBER, "hunter2", "s3cret"):
        assert secret not in text
    assert "redacted" in line["message"]


def test_secret_fields_nested_values_and_tracebacks_are_redacted(lines):
    log = logging.getLogger("puhui.test")
    log.info(
        "signed in",
        extra={
            "password": "hunter2",
            "request": {"id_number": ID_NUMBER, "name": "张三"},
            "note": f"Bearer {JWT}",
        },
    )
    try:
        raise ValueError(f"bad credential for {ID_NUMBER}")
    except ValueError:
        log.exception("failed")
    first, second = lines()
    assert first["password"] == "[redacted]"
    assert first["request"] == {"id_number": "[redacted]", "name": "张三"}
    assert JWT not in first["note"]
    assert ID_NUMBER not in second["exc_info"]
    assert "ValueError" in second["exc_info"]
    assert "\n" not in json.dumps(second)  # one line, however long the traceback


def test_ordinary_numbers_and_ids_survive(lines):
    logging.getLogger("puhui.test").info(
        "institution 440000-000001 has 3 items, event 01936a8e-5f7b-7cc3-9d3e-5b1f0b5a2c11"
    )
    (line,) = lines()
    assert (
        line["message"]
        == "institution 440000-000001 has 3 items, event 01936a8e-5f7b-7cc3-9d3e-5b1f0b5a2c11"
    )

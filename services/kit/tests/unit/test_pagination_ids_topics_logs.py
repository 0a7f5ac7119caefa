import base64
import io
import json
import logging
import uuid

import pytest

from puhui.common.v1 import common_pb2
from puhui.kit import kafka, logs, pagination
from puhui.kit.errors import InvalidArgument
from puhui.kit.ids import uuid7
from puhui.kit.pagination import MAX_PAGE_SIZE, filter_hash, page_request


def test_page_token_round_trip_and_binding():
    filters = {"region": "440100"}
    first = page_request(0, "", filters)
    assert first.size == 50
    assert first.after == ""
    token = first.next_token("name\x00id")
    again = page_request(10, token, filters)
    assert again.after == "name\x00id"
    assert again.size == 10
    with pytest.raises(InvalidArgument) as info:
        page_request(10, token, {"region": "440300"})
    assert info.value.violations[0].field == "page_token"


@pytest.mark.parametrize("token", ["garbage!!", "AAAA", "x"])
def test_foreign_page_tokens_are_invalid_argument(token):
    with pytest.raises(InvalidArgument) as info:
        page_request(10, token, {})
    assert info.value.violations[0].field == "page_token"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("tag", [b"", b"\x00" * pagination.TAG_BYTES, b"short"])
def test_forged_page_tokens_without_a_valid_tag_are_refused(tag):
    """A valid cursor with the right filter hash but no or a wrong tag is refused before
    parsing: a forged sort key (feedback's `moment|id`, catalog's version) never reaches
    a service's int() or fromisoformat()."""
    filters = {"item": "i"}
    cursor = common_pb2.PageCursor(
        after="not-a-moment|x", filter_hash=filter_hash(filters), version=1
    ).SerializeToString()
    with pytest.raises(InvalidArgument) as info:
        page_request(10, _b64(cursor + tag), filters)
    violation = info.value.violations[0]
    assert violation.field == "page_token"
    assert violation.description == "is not a page token issued by this API"


def test_page_tokens_are_bound_to_the_key(monkeypatch):
    monkeypatch.setattr(pagination, "_key", None)
    pagination.configure("shared-by-replicas")
    page = page_request(2, "", {"f": 1})
    token = page.token_after(["a", "b"], str)
    pagination.configure(b"shared-by-replicas")
    assert page_request(2, token, {"f": 1}).after == "b"
    pagination.configure("another service's key")
    with pytest.raises(InvalidArgument) as info:
        page_request(2, token, {"f": 1})
    assert info.value.violations[0].field == "page_token"
    pagination.configure("")  # empty: the process's random key, the same on every call
    with pytest.raises(InvalidArgument):
        page_request(2, token, {"f": 1})
    random_token = page_request(2, "", {}).next_token("k")
    pagination.configure("")
    assert page_request(2, random_token, {}).after == "k"


def test_page_size_bounds():
    assert page_request(10_000, "", {}).size == MAX_PAGE_SIZE
    with pytest.raises(InvalidArgument):
        page_request(-1, "", {})


def test_uuid7_is_version_7_and_time_ordered():
    ids = [uuid7() for _ in range(2000)]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert ids == sorted(ids, key=lambda u: u.int)
    assert len(set(ids)) == len(ids)


def test_topic_names_carry_the_node():
    topic = kafka.topic_name("440000", "catalog")
    assert topic == "puhui.440000.catalog.events"
    assert kafka.source_node_of(topic) == "440000"
    import re

    pattern = re.compile(kafka.topic_pattern("catalog"))
    assert pattern.match(topic)
    assert pattern.match("puhui.320000.catalog.events")
    assert not pattern.match(kafka.dlq_topic(topic))
    assert not pattern.match("puhui.440000.feedback.events")


def test_json_logs_redact_secret_fields():
    stream = io.StringIO()
    logs.configure("identity", "440000", "INFO", stream=stream)
    try:
        logging.getLogger("puhui.test").info(
            "signed in", extra={"password": "hunter2", "login": "a@b.cn"}
        )
    finally:
        for h in [h for h in logging.getLogger().handlers if getattr(h, "_puhui", False)]:
            logging.getLogger().removeHandler(h)
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["password"] == "[redacted]"
    assert line["login"] == "a@b.cn"
    assert line["node"] == "440000"
    assert line["service"] == "identity"
    assert "hunter2" not in stream.getvalue()


@pytest.mark.parametrize(
    ("after", "numeric"),
    [
        ("name\x00id\x01", False),
        ("a\x00b\x7f", False),
        ("x" * 70_000, False),
        ("12a", True),
        (str(2**63), True),
        ("²", True),
    ],
)
def test_forged_cursors_are_invalid_argument(after, numeric):
    """Defence in depth behind the tag: even a signed cursor whose sort key no service
    issues (control characters, a number past int64) is refused, not run."""
    forged = page_request(0, "", {"item": "i"}).next_token(after)
    with pytest.raises(InvalidArgument) as info:
        page_request(10, forged, {"item": "i"}, numeric=numeric)
    assert info.value.violations[0].field == "page_token"


def test_numeric_cursors_pass():
    token = page_request(0, "", {}).next_token("42")
    assert page_request(10, token, {}, numeric=True).after == "42"

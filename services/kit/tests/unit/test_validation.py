"""The kit's validation layer against every class of value the fuzz run found: each control
character, each out-of-range Timestamp, uint64 past int64, undefined enums, oversized
repeated fields; and the bounded status every refusal becomes."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import duration_pb2, wrappers_pb2
from google.rpc import error_details_pb2, status_pb2

from puhui.catalog.v1 import catalog_pb2
from puhui.feedback.v1 import feedback_pb2
from puhui.kit import validation
from puhui.kit.errors import FieldViolation, InvalidArgument, OutOfRange
from puhui.kit.interceptors import to_status
from puhui.kit.times import TIMESTAMP_MAX_SECONDS, TIMESTAMP_MIN_SECONDS

CONTROLS = [chr(c) for c in range(0x20) if chr(c) not in "\t\r\n"] + ["\x7f"]


def refusal(message) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as info:
        validation.check_request(message)
    return info.value


@pytest.mark.parametrize("char", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
def test_every_control_character_is_refused_at_its_path(char):
    request = feedback_pb2.SyncKioskRatingsRequest(kiosk_id="kiosk-1")
    for _ in range(4):
        request.ratings.add(client_rating_id="ok")
    request.ratings[3].rating.comment = f"好评{char}"
    error = refusal(request)
    assert type(error) is InvalidArgument
    assert error.reason == "FIELD_INVALID"
    assert [v.field for v in error.violations] == ["ratings[3].rating.comment"]


@pytest.mark.parametrize("text", ["tab\tcr\rlf\n", "知识产权", "𠀀😀", "界" * 65_536, ""])
def test_text_people_write_passes(text):
    validation.check_request(catalog_pb2.SearchInstitutionsRequest(query=text))


def test_text_over_the_limit_is_out_of_range():
    error = refusal(catalog_pb2.SearchInstitutionsRequest(query="x" * 65_537))
    assert isinstance(error, OutOfRange)
    assert error.reason == "FIELD_OUT_OF_RANGE"
    assert error.violations[0].field == "query"


OUT_OF_RANGE_TIMES = [
    (TIMESTAMP_MAX_SECONDS + 1, 0),
    (TIMESTAMP_MIN_SECONDS - 1, 0),
    (2**63 - 1, 0),
    (-(2**63), 0),
    (0, -1),
    (0, 10**9),
    (0, 2**31 - 1),
    (TIMESTAMP_MAX_SECONDS, -(2**31)),
]


@pytest.mark.parametrize(("seconds", "nanos"), OUT_OF_RANGE_TIMES)
def test_every_out_of_range_timestamp_is_refused(seconds, nanos):
    for request, path in _timestamp_requests(seconds, nanos):
        error = refusal(request)
        assert isinstance(error, OutOfRange)
        assert [v.field for v in error.violations] == [path]


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [(TIMESTAMP_MAX_SECONDS, 999_999_999), (TIMESTAMP_MIN_SECONDS, 0), (0, 0), (-1, 5)],
)
def test_every_valid_timestamp_passes(seconds, nanos):
    for request, _ in _timestamp_requests(seconds, nanos):
        validation.check_request(request)


def _timestamp_requests(seconds: int, nanos: int):
    record = feedback_pb2.RecordServiceCaseRequest(institution_id="c")
    record.completed_at.seconds, record.completed_at.nanos = seconds, nanos
    complete = feedback_pb2.CompleteServiceCaseRequest(case_id="c")
    complete.completed_at.seconds, complete.completed_at.nanos = seconds, nanos
    kiosk = feedback_pb2.SyncKioskRatingsRequest()
    kiosk.ratings.add()
    kiosk.ratings.add().rated_at.seconds = seconds
    kiosk.ratings[1].rated_at.nanos = nanos
    return [
        (record, "completed_at"),
        (complete, "completed_at"),
        (kiosk, "ratings[1].rated_at"),
    ]


def test_uint64_beyond_int64_is_out_of_range():
    validation.check_request(wrappers_pb2.UInt64Value(value=2**63 - 1))
    error = refusal(wrappers_pb2.UInt64Value(value=2**63))
    assert isinstance(error, OutOfRange)
    assert error.violations[0].field == "value"


def test_invalid_durations_are_out_of_range():
    validation.check_request(duration_pb2.Duration(seconds=-5, nanos=-1))
    for seconds, nanos in [(1, -1), (-1, 1), (315_576_000_001, 0), (0, 10**9)]:
        assert isinstance(refusal(duration_pb2.Duration(seconds=seconds, nanos=nanos)), OutOfRange)


def test_undefined_enum_values_are_invalid_in_fields_and_lists():
    request = catalog_pb2.SearchInstitutionsRequest(tiers=[1, 99])
    request.statuses.append(-1)
    paths = [v.field for v in refusal(request).violations]
    assert paths == ["tiers[1]", "statuses[0]"]


def test_repeated_fields_have_a_size_limit():
    request = catalog_pb2.SearchInstitutionsRequest()
    request.tiers.extend([1] * (validation.MAX_REPEATED + 1))
    error = refusal(request)
    assert isinstance(error, OutOfRange)
    assert [v.field for v in error.violations] == ["tiers"]


def test_mixed_problems_are_field_invalid_and_all_listed():
    request = feedback_pb2.RecordServiceCaseRequest(institution_id="a\x00b")
    request.completed_at.seconds = TIMESTAMP_MAX_SECONDS + 1
    error = refusal(request)
    assert type(error) is InvalidArgument
    assert {v.field for v in error.violations} == {"institution_id", "completed_at"}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("42", 42),
        (str(2**63 - 1), 2**63 - 1),
        (str(2**63), None),
        ("²", None),
        ("-1", None),
        ("", None),
        ("1" * 30, None),
        ("١٢", None),
        ("1 ", None),
    ],
)
def test_int64_text(text, value):
    assert validation.int64_text(text) == value


def _details(status: grpc.Status) -> tuple[error_details_pb2.ErrorInfo, list[str]]:
    (raw,) = [v for k, v in status.trailing_metadata if k == "grpc-status-details-bin"]
    info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
    for detail in status_pb2.Status.FromString(raw).details:
        detail.Unpack(info) or detail.Unpack(bad)
    return info, [v.field for v in bad.field_violations]


def test_ten_thousand_violations_make_a_small_status_with_the_count():
    error = InvalidArgument(
        [FieldViolation(f"ratings[{i}].comment", "必须是文本" * 40) for i in range(10_000)]
    )
    status = to_status(error, "feedback")
    info, fields = _details(status)
    assert 0 < len(fields) <= 20
    assert fields[0] == "ratings[0].comment"
    assert info.metadata["violations"] == "10000"
    trailer = sum(len(k) + len(v) for k, v in status.trailing_metadata) * 4 // 3
    assert trailer + len(status.details.encode()) * 3 < 8192  # the client's soft limit
    assert "more" in error.message


def test_a_few_violations_are_all_reported_without_a_count():
    error = InvalidArgument([FieldViolation("a", "x"), FieldViolation("b", "y")])
    info, fields = _details(to_status(error))
    assert fields == ["a", "b"]
    assert "violations" not in info.metadata

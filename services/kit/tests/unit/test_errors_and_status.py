import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from puhui.kit.errors import (
    FieldViolation,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Violations,
)
from puhui.kit.interceptors import internal_status, to_status


def unpack(status: grpc.Status):
    details = {}
    for key, value in status.trailing_metadata:
        if key == "grpc-status-details-bin":
            st = status_pb2.Status.FromString(value)
            for d in st.details:
                for cls in (
                    error_details_pb2.BadRequest,
                    error_details_pb2.ErrorInfo,
                    error_details_pb2.RetryInfo,
                ):
                    if d.Is(cls.DESCRIPTOR):
                        msg = cls()
                        d.Unpack(msg)
                        details[cls.__name__] = msg
    return details


def test_invalid_argument_carries_field_violations():
    err = InvalidArgument(
        [
            FieldViolation("institution.name", "is required"),
            FieldViolation("page_size", "must not be negative"),
        ]
    )
    status = to_status(err, "catalog")
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT
    details = unpack(status)
    assert [v.field for v in details["BadRequest"].field_violations] == [
        "institution.name",
        "page_size",
    ]
    assert details["ErrorInfo"].reason == "FIELD_INVALID"
    assert details["ErrorInfo"].domain == "puhui.cn"


def test_resource_exhausted_carries_retry_info():
    details = unpack(to_status(ResourceExhausted("quota", retry_after_seconds=1.5)))
    assert details["RetryInfo"].retry_delay.ToMilliseconds() == 1500


def test_not_found_code_and_message():
    status = to_status(NotFound("institution '1' not found"))
    assert status.code == grpc.StatusCode.NOT_FOUND
    assert status.details == "institution '1' not found"


def test_internal_status_names_the_trace_id_only():
    status = internal_status("abc123")
    assert status.code == grpc.StatusCode.INTERNAL
    assert "abc123" in status.details
    assert unpack(status)["ErrorInfo"].metadata["trace_id"] == "abc123"


def test_violations_collects_all_fields():
    v = Violations()
    v.require("", "a")
    v.check(False, "b", "bad")
    v.check(True, "c", "fine")
    with pytest.raises(InvalidArgument) as info:
        v.raise_if_any()
    assert [x.field for x in info.value.violations] == ["a", "b"]

"""NUL in any string of a request is INVALID_ARGUMENT naming each field (textguard)."""

from __future__ import annotations

import pytest

from puhui.catalog.v1 import catalog_pb2
from puhui.data.v1 import data_pb2
from puhui.kit import textguard
from puhui.kit.errors import InvalidArgument


def test_every_string_with_nul_is_named_by_its_request_path() -> None:
    request = data_pb2.SearchPatentsRequest(query="a\x00", facets=["year", "x\x00"])
    getattr(request.filing_date, "from")  # nested message, clean
    request.filing_date.to = "2026\x00"
    with pytest.raises(InvalidArgument) as err:
        textguard.reject_nul(request)
    fields = {v.field for v in err.value.violations}
    assert fields == {"query", "facets[1]", "filing_date.to"}


def test_nested_repeated_messages_and_clean_requests() -> None:
    profile = catalog_pb2.InnovatorProfile(region_code="440300", ipc_fields=["G06F", "H\x00"])
    request = catalog_pb2.MatchRequest(profile=profile)
    assert [v.field for v in textguard.violations(request)] == ["profile.ipc_fields[1]"]
    textguard.reject_nul(catalog_pb2.MatchRequest(profile=catalog_pb2.InnovatorProfile()))


def test_map_keys_and_values() -> None:
    from puhui.feedback.v1 import feedback_pb2

    reply = feedback_pb2.SyncKioskRatingsResponse(rejected={"k\x00": "ok", "id": "bad\x00"})
    fields = sorted(v.field for v in textguard.violations(reply))
    assert fields == ["rejected", "rejected['id']"]


def test_raw_bytes_requests_are_left_alone() -> None:
    textguard.reject_nul(b"\x00raw")  # a generic handler without a deserializer

"""The request generator: every RPC of the four services is enumerated from its proto
file, every request type can be generated and serialized, and the generated requests
carry every class of value the validation layer must refuse."""

from __future__ import annotations

from collections import Counter

from google.protobuf.message import DecodeError

from puhui.catalog.v1 import catalog_pb2
from puhui.data.v1 import data_pb2
from puhui.feedback.v1 import feedback_pb2
from puhui.identity.v1 import identity_pb2
from puhui.kit import validation
from puhui.kit.fuzzing import RequestFactory, rpcs

FILES = (identity_pb2, catalog_pb2, data_pb2, feedback_pb2)


def test_every_rpc_of_every_service_is_enumerated():
    found = {rpc.path for module in FILES for rpc in rpcs(module.DESCRIPTOR)}
    declared = {
        f"/{service.full_name}/{method.name}"
        for module in FILES
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    }
    assert found == declared
    assert len(found) == 66
    assert "/puhui.data.v1.DataService/ExportPatents" in found


def test_generated_requests_cover_the_refused_classes_and_serialize():
    factory = RequestFactory(seed=7)
    seen: Counter[str] = Counter()
    for module in FILES:
        for rpc in rpcs(module.DESCRIPTOR):
            for _ in range(40):
                request = factory.message(rpc.request)
                assert rpc.request.FromString(request.SerializeToString()) == request
                items, _ = validation.violations_of(request)
                for v in items:
                    if "control" in v.description:
                        seen["control"] += 1
                    if "defined value" in v.description:
                        seen["enum"] += 1
                    if v.description.startswith("must be a time"):
                        seen["time"] += 1
                    if v.description.startswith("at most") and "entries" in v.description:
                        seen["repeated"] += 1
                    if v.description.startswith("at most") and "characters" in v.description:
                        seen["long"] += 1
    for kind in ("control", "enum", "time", "repeated", "long"):
        assert seen[kind] > 0, kind


def test_undecodable_payloads_do_not_parse():
    factory = RequestFactory(seed=3)
    failures = 0
    for _ in range(200):
        try:
            feedback_pb2.SyncKioskRatingsRequest.FromString(factory.undecodable())
        except DecodeError:
            failures += 1
    assert failures > 150


def test_the_same_seed_gives_the_same_requests():
    first, second = RequestFactory(seed=11), RequestFactory(seed=11)
    for _ in range(20):
        a = first.message(feedback_pb2.SyncKioskRatingsRequest)
        b = second.message(feedback_pb2.SyncKioskRatingsRequest)
        assert a == b

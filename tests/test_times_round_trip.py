"""Every service returns the times it stored to the microsecond, on SQLite (a local run)
and PostgreSQL: what a write answers is what a later read answers (feedback's case times
have their own test in services/feedback/tests/integration/test_case_times.py)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import grpc
import pytest

from puhui.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from puhui.data.v1 import data_pb2, data_pb2_grpc
from puhui.identity.v1 import identity_pb2, identity_pb2_grpc
from puhui.kit.testing import running, temporary_database
from tests.fuzz import harness

pytestmark = pytest.mark.integration
TOKEN = (("authorization", "Bearer fuzz-admin"),)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path, postgres_admin_url) -> Iterator[object]:
    with contextlib.ExitStack() as stack:

        def make(label: str) -> str:
            if request.param == "sqlite":
                return f"sqlite:///{tmp_path}/{label}.db"
            return stack.enter_context(temporary_database(postgres_admin_url, label))

        yield make


@contextlib.contextmanager
def serving(app) -> Iterator[grpc.Channel]:  # type: ignore[no-untyped-def]
    with running(app) as host, grpc.insecure_channel(host.address) as channel:
        yield channel


def apps(database, redis_url):  # type: ignore[no-untyped-def]
    built = harness.build_apps(database, "", redis_url)
    return built["identity"], built["catalog"], built["data"]


def test_every_service_round_trips_its_times_to_the_microsecond(database, redis_url):
    identity, catalog, data = apps(database, redis_url)
    stamps: dict[str, tuple[str, str]] = {}
    with serving(identity) as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)
        org = stub.CreateOrganisation(
            identity_pb2.CreateOrganisationRequest(
                credit_code="91440300MA5F000007",
                name="深圳某科技有限公司",
                type=identity_pb2.ORGANISATION_TYPE_ENTERPRISE,
                region_code="540102",
            ),
            metadata=TOKEN,
            timeout=10,
        )
        got = stub.GetOrganisation(
            identity_pb2.GetOrganisationRequest(organisation_id=org.organisation_id),
            metadata=TOKEN,
            timeout=10,
        )
        stamps["identity"] = (org.created_at.ToJsonString(), got.created_at.ToJsonString())
    with serving(catalog) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        created = stub.CreateInstitution(
            catalog_pb2.CreateInstitutionRequest(
                institution=catalog_pb2.Institution(
                    name="拉萨市知识产权服务中心",
                    tier=catalog_pb2.INSTITUTION_TIER_PREFECTURE_CENTRE,
                    region_code="540100",
                    description="专利检索与分析服务",
                )
            ),
            metadata=TOKEN,
            timeout=10,
        )
        got = stub.GetInstitution(
            catalog_pb2.GetInstitutionRequest(institution_id=created.institution_id),
            metadata=TOKEN,
            timeout=10,
        )
        stamps["catalog"] = (created.created_at.ToJsonString(), got.created_at.ToJsonString())
    with serving(data) as channel:
        from puhui.data.normalise import cn_check_digit

        digits = f"2024{uuid.uuid4().int % 10**8:08d}"
        stub = data_pb2_grpc.DataServiceStub(channel)
        put = stub.PutPatent(
            data_pb2.PutPatentRequest(
                patent=data_pb2.Patent(
                    application_number=f"CN{digits}.{cn_check_digit(digits)}",
                    title="一种无人机机载多功能盒",
                    applicants=[data_pb2.Party(name="中科大数据研究院", region_code="410000")],
                    ipc_codes=["B64U20/80"],
                    filing_date="20221202",
                )
            ),
            metadata=TOKEN,
            timeout=10,
        ).patent
        got = stub.GetPatent(
            data_pb2.GetPatentRequest(number=put.application_number),
            metadata=TOKEN,
            timeout=10,
        )
        stamps["data"] = (put.updated_at.ToJsonString(), got.updated_at.ToJsonString())
    for service, (written, read) in stamps.items():
        assert written == read, service
        assert written.startswith("20"), service  # a real time, not the epoch

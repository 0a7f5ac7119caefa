"""Cross-node scenarios: three nodes (the hub 000000, 440000 Guangdong, 320000 Jiangsu) as
in-process apps, each service with its own PostgreSQL database, against the one real Kafka.

- a person registered at 440000 signs in there and, with that token, searches data and
  rates a case (real-name) at 320000; a 440000 node service account calls 320000 too;
- the hub's national catalog and national figures equal the sum of the provinces;
- a removed node's tokens are rejected at the other province.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from sqlalchemy import func, select

from puhui.catalog import seed as catalog_seed
from puhui.catalog.adapters import db as catalog_tables
from puhui.data.v1 import data_pb2, data_pb2_grpc
from puhui.federation.testing import Bearer, Federation, Node
from puhui.federation.v1 import federation_pb2 as fpb
from puhui.feedback.v1 import feedback_pb2 as fb
from puhui.feedback.v1 import feedback_pb2_grpc
from puhui.identity import domain as identity_domain
from puhui.identity.v1 import identity_pb2, identity_pb2_grpc
from puhui.kit import tokens
from puhui.kit.testing import eventually, temporary_database

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery 7"


def identity_stub(node: Node, token: str | None = None) -> Bearer:
    return Bearer(identity_pb2_grpc.IdentityServiceStub(node.channel("identity")), token)


def person(node: Node, name: str = "用户") -> tuple[str, str]:
    """(person id, access token) of a new person registered and signed in at `node`."""
    stub = identity_stub(node)
    login = f"fed-{uuid.uuid4().hex[:10]}@example.cn"
    registered = stub.RegisterPerson(
        identity_pb2.RegisterPersonRequest(display_name=name, email=login, password=PASSWORD)
    )
    token = stub.SignIn(identity_pb2.SignInRequest(login=login, password=PASSWORD)).access_token
    return registered.person.person_id, token


def staff(node: Node, institution_id: str) -> str:
    """Access token of institution staff of `institution_id` (role granted by the operator)."""
    person_id, _ = person(node, "工作人员")
    node.app("identity").identity.change_role(
        None, person_id, identity_domain.Role.INSTITUTION_STAFF, institution_id, grant=True
    )
    return (
        identity_stub(node)
        .SignIn(identity_pb2.SignInRequest(login=_login_of(node, person_id), password=PASSWORD))
        .access_token
    )


def _login_of(node: Node, person_id: str) -> str:
    return str(node.app("identity").identity.get_person(person_id).email)


def feedback_stub(node: Node, token: str | None) -> Bearer:
    return Bearer(feedback_pb2_grpc.FeedbackServiceStub(node.channel("feedback")), token)


def record_case(node: Node, staff_token: str, institution: str, person_id: str) -> Any:
    """RecordServiceCase, once the node's feedback knows the person (identity's
    PersonRegistered event reaches it a moment after the registration)."""
    request = fb.RecordServiceCaseRequest(
        institution_id=institution,
        service_item_id=f"{institution}-item",
        person_id=person_id,
        request_id=str(uuid.uuid4()),
    )

    def attempt() -> Any:
        try:
            return feedback_stub(node, staff_token).RecordServiceCase(request)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
            return None

    return eventually(attempt, 60, interval=0.2)


def rate_case(node: Node, staff_token: str, institution: str, person_id: str, token: str) -> Any:
    case = record_case(node, staff_token, institution, person_id)
    return feedback_stub(node, token).SubmitRating(
        fb.SubmitRatingRequest(
            rating_token=case.rating_token,
            stage=fb.CASE_STAGE_COMPLETION,
            channel=fb.RATING_CHANNEL_ONLINE,
            level=fb.RATING_LEVEL_VERY_SATISFIED,
            real_name=True,
        )
    )


@pytest.fixture(scope="module")
def network(
    kafka_bootstrap: str, postgres_admin_url: str, redis_url: str
) -> Iterator[tuple[Federation, Node, Node]]:
    with contextlib.ExitStack() as stack:

        def database(label: str) -> str:
            return stack.enter_context(temporary_database(postgres_admin_url, label))

        fed = Federation(stack, bootstrap=kafka_bootstrap, database=database, redis_url="")
        fed.start_hub()
        gd = fed.start_node("440000", ("identity", "catalog", "feedback"))
        js = fed.start_node("320000", ("identity", "catalog", "data", "feedback"))
        fed.join(gd, name="广东")
        fed.join(js, name="江苏")
        for node in (gd, js):
            verifier = node.verifier
            assert verifier is not None
            eventually(
                lambda v=verifier: {"440000", "320000"} <= v.key_sets.issuers(), 30, interval=0.2
            )
        yield fed, gd, js


def test_a_person_of_440000_searches_data_and_rates_a_case_at_320000(
    network: tuple[Federation, Node, Node],
) -> None:
    _, gd, js = network
    person_id, token = person(gd, "粤籍发明人")
    assert person_id.startswith("440000:")

    data = Bearer(data_pb2_grpc.DataServiceStub(js.channel("data")), token)
    found = data.SearchPatents(data_pb2.SearchPatentsRequest(query="电池"))
    assert found.total_size >= 0  # accepted: the 440000 token verified at 320000

    institution = "320000-000001"
    rating = rate_case(js, staff(js, institution), institution, person_id, token)
    assert rating.node_id == "320000"
    assert rating.real_name  # only the person served (a 440000 subject) may rate real-name

    # A forged or foreign-anchor token is still rejected at 320000.
    with pytest.raises(grpc.RpcError) as err:
        data.with_token(token[:-4] + "AAAA").SearchPatents(data_pb2.SearchPatentsRequest())
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_node_service_account_calls_another_nodes_service(
    network: tuple[Federation, Node, Node],
) -> None:
    _, gd, js = network
    client_id = f"gd-sync-{uuid.uuid4().hex[:6]}"
    _, secret = gd.app("identity").identity.create_service_account(client_id, ["data.read"])
    session = identity_stub(gd).IssueServiceToken(
        identity_pb2.IssueServiceTokenRequest(
            client_id=client_id, client_secret=secret, scopes=["data.read"]
        )
    )
    assert js.verifier is not None
    principal = js.verifier.verify(session.access_token)
    assert principal.has_role(tokens.ROLE_NODE_SERVICE, "440000")
    assert "data.read" in principal.scopes
    data = Bearer(data_pb2_grpc.DataServiceStub(js.channel("data")), session.access_token)
    data.SearchPatents(data_pb2.SearchPatentsRequest(query="电池"))


def province_catalog_counts(node: Node) -> tuple[int, int, int]:
    t = catalog_tables
    with node.app("catalog").db.transaction() as s:
        institutions = s.execute(select(func.count()).select_from(t.institutions)).scalar_one()
        approved = s.execute(
            select(func.count())
            .select_from(t.institutions)
            .where(t.institutions.c.status == 2)  # approved
        ).scalar_one()
        items = s.execute(select(func.count(func.distinct(t.service_items.c.item_id)))).scalar_one()
    return int(institutions), int(approved), int(items)


def test_national_catalog_and_indices_equal_the_sum_of_the_provinces(
    network: tuple[Federation, Node, Node],
) -> None:
    fed, gd, js = network
    for node, examples in ((gd, 24), (js, 16)):
        app = node.app("catalog")
        catalog_seed.seed(app.db, app.outbox, node.node_id, examples, 7)
    expected = {n.node_id: province_catalog_counts(n) for n in (gd, js)}

    # Ratings at both provinces (the first test may have added one at 320000 already).
    for node, count in ((gd, 2), (js, 3)):
        institution = f"{node.node_id}-000002"
        staff_token = staff(node, institution)
        for _ in range(count):
            person_id, token = person(node)
            rate_case(node, staff_token, institution, person_id, token)

    stub = fed.federation_stub()

    def national() -> Any:
        stats = stub.GetNationalStatistics(fpb.GetNationalStatisticsRequest())
        provinces = {p.node_id: p for p in stats.provinces}
        # At least what this test wrote (Kafka topics are shared: another test writing to
        # the same province topics at the same moment adds to the figures, never removes).
        ok = set(expected) <= set(provinces) and all(
            (
                provinces[n].institutions,
                provinces[n].approved_institutions,
                provinces[n].current_service_items,
            )
            >= expected[n]
            and provinces[n].approved_institutions >= expected[n][1]
            and provinces[n].current_service_items >= expected[n][2]
            for n in expected
        )
        enough = ok and provinces["440000"].ratings >= 2 and provinces["320000"].ratings >= 3
        return stats if enough else None

    stats = eventually(national, 120, interval=0.2)
    provinces = {p.node_id: p for p in stats.provinces}
    for field in (
        "institutions",
        "approved_institutions",
        "current_service_items",
        "service_cases",
        "ratings",
        "rating_level_sum",
    ):
        assert getattr(stats.national, field) == sum(getattr(p, field) for p in stats.provinces), (
            field
        )
    assert provinces["440000"].service_cases >= 2
    if provinces["440000"].ratings == 2:  # only ours: all very satisfied
        assert provinces["440000"].satisfaction == 100.0

    # National search answers from the read model: approved institutions of both provinces.
    approved = expected["440000"][1] + expected["320000"][1]
    found = stub.SearchNationalCatalog(fpb.SearchNationalCatalogRequest(page_size=500))
    assert found.total_size >= approved
    assert {i.owning_node for i in found.institutions} == {"440000", "320000"}
    only_js = stub.SearchNationalCatalog(
        fpb.SearchNationalCatalogRequest(node_ids=["320000"], page_size=5)
    )
    assert only_js.total_size >= expected["320000"][1]
    assert only_js.next_page_token

    status = stub.GetFederationStatus(fpb.GetFederationStatusRequest())
    by_node = {p.node_id: p for p in status.provinces}
    assert by_node["440000"].events_applied > 0
    assert by_node["320000"].status == fpb.NODE_STATUS_ACTIVE
    # Data distribution: the hub reached 320000's data service (its registered endpoint)
    # and reports its mirror completeness; 440000 runs no data service here: unknown.
    assert by_node["320000"].mirror_completeness >= 0
    assert by_node["440000"].mirror_completeness == -1


def test_a_removed_nodes_tokens_are_rejected_at_the_other_province(
    network: tuple[Federation, Node, Node],
) -> None:
    fed, gd, js = network
    _, token = person(gd)
    data = Bearer(data_pb2_grpc.DataServiceStub(js.channel("data")), token)
    data.SearchPatents(data_pb2.SearchPatentsRequest(query="x"))
    fed.hub.registry.remove("440000", "scenario")

    def rejected() -> bool:
        try:
            data.SearchPatents(data_pb2.SearchPatentsRequest(query="x"))
        except grpc.RpcError as exc:
            return exc.code() == grpc.StatusCode.UNAUTHENTICATED
        return False

    eventually(rejected, 15, interval=0.2)

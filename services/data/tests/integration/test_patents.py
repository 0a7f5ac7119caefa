"""Patents against real PostgreSQL and Kafka, through a real gRPC server."""

from __future__ import annotations

import uuid

import grpc
import pytest
from sqlalchemy import func, select

from puhui.data.adapters.tables import changes, outbox, patents
from puhui.data.server import build
from puhui.data.tests.support import ADMIN, FixedVerifier
from puhui.data.v1 import data_pb2, data_pb2_grpc, events_pb2
from puhui.kit.testing import bearer, read_events, running, violations

pytestmark = pytest.mark.integration

HUB = "000000"


@pytest.fixture
def hub(database_url, kafka_bootstrap):
    stream = f"mirror.t{uuid.uuid4().hex[:10]}"
    app = build(
        verifier=FixedVerifier(),
        node_id=HUB,
        database_url=database_url,
        kafka_bootstrap=kafka_bootstrap,
        mirror_stream=stream,
        grpc_port=0,
        metrics_port=0,
    )
    with running(app) as host, grpc.insecure_channel(host.address) as channel:
        yield app, data_pb2_grpc.DataServiceStub(channel)


def unique_cn_application() -> tuple[str, str]:
    """A fresh CN application number with its check digit (topics are shared across runs)."""
    from puhui.data.normalise import cn_check_digit

    digits = f"2024{uuid.uuid4().int % 10**8:08d}"
    return digits, f"CN{digits}.{cn_check_digit(digits)}"


def patent(application: str, **kw) -> data_pb2.Patent:
    fields = {
        "application_number": application,
        "publication_number": "CN218751475U",
        "title": "一种无人机机载多功能盒",
        "abstract": "为解决目前无人机在实际的使用过程中不能进行方便快捷的实现飞行路线调整",
        "applicants": [data_pb2.Party(name="中科大数据研究院", region_code="410000")],
        "inventors": ["刘迪", "刘敏"],
        "ipc_codes": ["B64U20/80", "b64u 101/30"],
        "filing_date": "20221202",
        "publication_date": "2023-03-28T00:00:00Z",
        "legal_status": "有权-审定授权",
    }
    fields.update(kw)
    return data_pb2.Patent(**fields)


def counts(app) -> tuple[int, int, int]:
    with app.db.transaction() as s:
        return tuple(
            s.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (patents, changes, outbox)
        )


def test_put_get_outcomes_and_event_on_kafka(hub, kafka_bootstrap):
    app, stub = hub
    digits, written = unique_cn_application()
    pub = f"CN{digits[-9:]}U"
    put = stub.PutPatent(
        data_pb2.PutPatentRequest(patent=patent(written, publication_number=pub)),
        metadata=ADMIN,
        timeout=10,
    )
    assert put.outcome == "inserted"
    assert put.patent.application_number == f"CN{digits}"
    assert put.patent.office == "CN"
    assert put.patent.kind == "U"
    assert put.patent.ipc_codes == ["B64U 20/80", "B64U 101/30"]
    assert put.patent.filing_date == "2022-12-02"
    assert put.patent.publication_date == "2023-03-28"
    assert put.patent.applicants[0].country == "CN"
    assert len(put.patent.content_hash) == 64

    again = stub.PutPatent(
        data_pb2.PutPatentRequest(patent=patent(digits + written[-1], publication_number=pub)),
        metadata=ADMIN,
        timeout=10,
    )
    assert again.outcome == "unchanged"
    assert again.patent.content_hash == put.patent.content_hash

    changed = stub.PutPatent(
        data_pb2.PutPatentRequest(
            patent=patent(written, publication_number=pub, legal_status="无权-未缴年费终止")
        ),
        metadata=ADMIN,
        timeout=10,
    )
    assert changed.outcome == "updated"
    assert changed.patent.content_hash != put.patent.content_hash

    # Any written form finds it: with check digit, without, by publication number.
    for number in (written, digits, f"{digits}.{written[-1]}", pub, f"ZL{digits}.{written[-1]}"):
        got = stub.GetPatent(data_pb2.GetPatentRequest(number=number), timeout=10)
        assert got.application_number == f"CN{digits}"
        assert got.legal_status == "无权-未缴年费终止"

    # Search and export read the record from other columns (updated_at as microseconds):
    # the same message as GetPatent, to the microsecond.
    got = stub.GetPatent(data_pb2.GetPatentRequest(number=written), timeout=10)
    assert got.updated_at.nanos % 1000 == 0
    assert got.updated_at.seconds > 0
    query = data_pb2.SearchPatentsRequest(applicant="中科大数据研究院")
    found = [
        p
        for p in stub.SearchPatents(
            data_pb2.SearchPatentsRequest(query=got.title, office="CN", page_size=100), timeout=10
        ).patents
        if p.record_id == got.record_id
    ]
    assert found == [got]
    exported = [
        p
        for chunk in stub.ExportPatents(
            data_pb2.ExportPatentsRequest(search=query, chunk_size=100), timeout=10
        )
        for p in chunk.patents
        if p.record_id == got.record_id
    ]
    assert exported == [got]

    events = read_events(
        kafka_bootstrap,
        "puhui.000000.data.events",
        lambda e: e.subject == f"patent/CN{digits}",
        count=2,
    )
    assert len(events) == 2
    decoded = []
    for envelope in events:
        event = events_pb2.PatentChanged()
        envelope.payload.Unpack(event)
        decoded.append((event.change, event.patent.legal_status))
    assert sorted(decoded) == [("inserted", "有权-审定授权"), ("updated", "无权-未缴年费终止")]

    mirrored = read_events(
        kafka_bootstrap, app.mirror_topic(), lambda e: e.subject == f"patent/CN{digits}", count=2
    )
    assert len(mirrored) == 2


def test_bad_input_is_invalid_argument_and_writes_nothing(hub):
    app, stub = hub
    before = counts(app)
    bad = patent(
        "CN202121635235.3",  # wrong check digit (X is right)
        publication_number="??",
        title="",
        ipc_codes=["G06F 17/30", "Z99 1/00"],
        filing_date="2015/13/40",
        applicants=[data_pb2.Party(name="某公司", region_code="999999")],
    )
    with pytest.raises(grpc.RpcError) as err:
        stub.PutPatent(data_pb2.PutPatentRequest(patent=bad), metadata=ADMIN, timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = violations(err.value)
    assert "check digit" in fields["patent.application_number"]
    assert set(fields) >= {
        "patent.application_number",
        "patent.publication_number",
        "patent.title",
        "patent.ipc_codes[1]",
        "patent.filing_date",
        "patent.applicants[0].region_code",
    }
    assert "patent.ipc_codes[0]" not in fields  # older-edition symbols are accepted
    assert counts(app) == before


def test_get_unknown_and_malformed_numbers(hub):
    _, stub = hub
    with pytest.raises(grpc.RpcError) as err:
        stub.GetPatent(data_pb2.GetPatentRequest(number="CN209912345678.9"), timeout=10)
    assert err.value.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)
    with pytest.raises(grpc.RpcError) as err:
        stub.GetPatent(data_pb2.GetPatentRequest(number="US 1,234,567 B2"), timeout=10)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as err:
        stub.GetPatent(data_pb2.GetPatentRequest(number="not a number!"), timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "number" in violations(err.value)


def test_put_requires_a_writer_role(hub):
    _, stub = hub
    _, written = unique_cn_application()
    with pytest.raises(grpc.RpcError) as err:
        stub.PutPatent(data_pb2.PutPatentRequest(patent=patent(written)), timeout=10)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as err:
        stub.PutPatent(
            data_pb2.PutPatentRequest(patent=patent(written)),
            metadata=bearer("innovator-token"),
            timeout=10,
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as err:  # another node's service account
        stub.PutPatent(
            data_pb2.PutPatentRequest(patent=patent(written)),
            metadata=bearer("province-node-token"),
            timeout=10,
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    put = stub.PutPatent(
        data_pb2.PutPatentRequest(patent=patent(written)), metadata=bearer("node-token"), timeout=10
    )
    assert put.outcome == "inserted"


def test_two_writers_racing_on_a_new_record_the_loser_gets_aborted(hub):
    """The second writer of a brand-new record blocks on the first's uncommitted row, then
    meets the unique violation when it commits: ABORTED (retry), never INTERNAL."""
    import dataclasses
    import threading
    import time
    from datetime import UTC, datetime

    from sqlalchemy import text

    from puhui.data import domain
    from puhui.data.adapters.patents import patent_row
    from puhui.data.convert import patent_from_proto

    app, stub = hub
    digits, written = unique_cn_application()
    msg = patent(written, publication_number=f"CN{digits[-9:]}U")
    first = domain.normalise_patent(patent_from_proto(msg))
    first = dataclasses.replace(first, updated_at=datetime.now(UTC))
    outcome: dict[str, object] = {}

    def second_writer() -> None:
        try:
            outcome["response"] = stub.PutPatent(
                data_pb2.PutPatentRequest(patent=msg), metadata=ADMIN, timeout=30
            )
        except grpc.RpcError as err:
            outcome["error"] = err

    with app.db.engine.connect() as conn, app.db.engine.connect() as watcher:
        tx = conn.begin()
        conn.execute(patents.insert().values(**patent_row(first)))
        writer = threading.Thread(target=second_writer)
        writer.start()
        waiting = 0
        for _ in range(300):  # until the second writer waits on our row (bounded)
            # from another connection, in a fresh transaction each time: pg_stat_activity
            # is a snapshot taken once per transaction
            with watcher.begin():
                waiting = watcher.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                ).scalar_one()
            if waiting or not writer.is_alive():
                break
            time.sleep(0.05)
        tx.commit()
    writer.join(30)
    assert waiting, "the second writer never blocked on the first's row"
    assert "error" in outcome, outcome
    assert outcome["error"].code() == grpc.StatusCode.ABORTED
    # The winner's row stands; a retry of the loser is an ordinary update/unchanged.
    retry = stub.PutPatent(data_pb2.PutPatentRequest(patent=msg), metadata=ADMIN, timeout=10)
    assert retry.outcome in ("unchanged", "updated")


def test_cached_counts_and_facets_follow_every_committed_write(hub):
    """PostgreSQL: a search's capped count and facets are reused while the patent data set's
    version stands, and computed again once any write to it commits (the version is bumped
    once per writing transaction, at its commit)."""
    from puhui.data.adapters.tables import data_versions

    app, stub = hub

    def version() -> int:
        with app.db.transaction() as s:
            query = select(data_versions.c.value).where(data_versions.c.data_set == "patents")
            return int(s.execute(query).scalar_one())

    def put(filing_date: str, title: str = "一种缓存计数测试装置") -> None:
        _, written = unique_cn_application()
        record = patent(written, applicants=[applicant], filing_date=filing_date, title=title)
        stub.PutPatent(data_pb2.PutPatentRequest(patent=record), metadata=ADMIN, timeout=10)

    def search() -> tuple[int, dict[str, int]]:
        counted = stub.SearchPatents(
            data_pb2.SearchPatentsRequest(applicant=name, page_size=1), timeout=10
        )
        faceted = stub.SearchPatents(
            data_pb2.SearchPatentsRequest(applicant=name, page_size=1, facets=["year"]),
            timeout=10,
        )
        assert faceted.total_size == counted.total_size
        return counted.total_size, {c.value: c.count for c in faceted.facets[0].counts}

    name = f"缓存测试{uuid.uuid4().hex[:8]}有限公司"
    applicant = data_pb2.Party(name=name, region_code="440300")
    put("2022-12-02")
    put("2022-06-01")
    assert search() == (2, {"2022": 2})
    before = version()
    assert search() == (2, {"2022": 2})  # reused: nothing written since
    assert version() == before
    assert app.reads.search_cache._values, "the count and facets were cached"
    put("2021-03-04")
    assert version() == before + 1  # one transaction, one bump
    assert search() == (3, {"2022": 2, "2021": 1})


def test_searches_are_planned_for_their_values(hub):
    """A generic plan made for a frequent IPC key walks the whole table for a rare one
    (580 ms at 1M records): the data service's connections plan every execution."""
    from sqlalchemy import text

    app, _ = hub
    with app.db.read_connection() as connection:
        assert connection.execute(text("SHOW plan_cache_mode")).scalar_one() == "force_custom_plan"
    with app.db.transaction() as session:
        assert session.execute(text("SHOW plan_cache_mode")).scalar_one() == "force_custom_plan"
    # Searches' own connections: the same, and stopped at PUHUI_DATA_SEARCH_TIMEOUT_MS.
    with app.search_db.read_connection() as connection:
        assert connection.execute(text("SHOW plan_cache_mode")).scalar_one() == "force_custom_plan"
        assert connection.execute(text("SHOW statement_timeout")).scalar_one() == "5s"
    with app.db.read_connection() as connection:
        assert connection.execute(text("SHOW statement_timeout")).scalar_one() == "0"

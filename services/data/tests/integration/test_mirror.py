"""A provincial node mirrors the hub's data sets through the compacted Kafka topic, reaching
the hub's count and hash after a bulk load, and again after being stopped mid-way."""

from __future__ import annotations

import json
import time
import uuid
from contextlib import contextmanager

import grpc
import pytest
from prometheus_client import REGISTRY

from puhui.data import synthetic
from puhui.data.server import build
from puhui.data.tests.integration.test_imports import CNIPA, FIXTURES
from puhui.data.tests.support import ADMIN, FixedVerifier
from puhui.data.v1 import data_pb2, data_pb2_grpc
from puhui.kit import kafka
from puhui.kit.testing import eventually, running

pytestmark = pytest.mark.integration

PROVINCE = "440000"
SYNTHETIC = 400


@contextmanager
def node(node_id, database_url, kafka_bootstrap, stream, **overrides):
    app = build(
        verifier=FixedVerifier(),
        node_id=node_id,
        database_url=database_url,
        kafka_bootstrap=kafka_bootstrap,
        mirror_stream=stream,
        quota_enabled=False,
        grpc_port=0,
        metrics_port=0,
        **overrides,
    )
    with running(app) as host, grpc.insecure_channel(host.address) as channel:
        yield app, data_pb2_grpc.DataServiceStub(channel)


def status(stub) -> dict[int, tuple[int, str]]:
    reply = stub.GetMirrorStatus(data_pb2.GetMirrorStatusRequest(), timeout=10)
    return {s.data_set: (s.record_count, s.content_hash) for s in reply.data_sets}


def wait_equal(hub, province, timeout=90.0) -> dict[int, tuple[int, str]]:
    want = status(hub)
    try:
        eventually(lambda: status(province) == want, timeout, interval=0.2)
    except AssertionError:
        got = status(province)
        raise AssertionError(f"mirror did not converge: hub {want}, province {got}") from None
    return want


GI_IC = 100  # generated geographical indications, and as many IC layouts
# Small batches so that a province can be stopped part-way through a few hundred events.
SMALL_BATCH = {"mirror_batch": 5}
REGIONS = ("330100", "350524", "370114", "440300", "510100", "110105")


def write_gi_ic(tmp_path, tag: str, count: int) -> tuple:
    """`count` example GIs and IC layouts as JSON Lines (gi-json / ic-layout-json formats)."""
    gi_path, ic_path = tmp_path / "gi.jsonl", tmp_path / "ic.jsonl"
    with gi_path.open("w", encoding="utf-8") as gi, ic_path.open("w", encoding="utf-8") as ic:
        for i in range(count):
            region = REGIONS[i % len(REGIONS)]
            gi.write(
                json.dumps(
                    {
                        "gi_id": f"AGI-{tag}-{i}",
                        "name": f"示例地理标志产品{i}",
                        "product": ("茶叶", "大葱", "柑橘")[i % 3],
                        "region_code": region,
                        "protection_type": "geographical indication product",
                        "application_date": f"20{10 + i % 10}-03-01",
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
            ic.write(
                json.dumps(
                    {
                        "registration_number": f"BS.{tag}{i:04d}",
                        "name": f"示例芯片版图{i}",
                        "owner": {"name": f"示例微电子有限公司{i % 7}", "region_code": region},
                        "creation_date": "2013-01-15",
                        "filing_date": f"20{14 + i % 10}-02-01",
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    return gi_path, ic_path


def counts(stub, *data_sets: int) -> int:
    found = status(stub)
    return sum(found.get(d, (0, ""))[0] for d in data_sets)


def stop_part_way(province_db, kafka_bootstrap, stream, data_sets, at_least: int) -> None:
    """Run the province until `at_least` records of `data_sets` are mirrored, then stop it."""
    with node(PROVINCE, province_db, kafka_bootstrap, stream, **SMALL_BATCH) as (_, province):
        eventually(lambda: counts(province, *data_sets) >= at_least, 30, interval=0.02)


def test_mirror_reaches_hub_count_and_hash_also_after_restart(
    database_factory, kafka_bootstrap, tmp_path
):
    """Patents, trademarks, GIs and IC layouts: bulk load at the hub; the province stopped
    part-way through the patents, restarted and stopped part-way through the GIs and IC
    layouts, restarted again while the hub changed records of every data set: it reaches
    the hub's count and hash of each data set."""
    stream = f"mirror.t{uuid.uuid4().hex[:12]}"
    tag = uuid.uuid4().hex[:8].upper()
    hub_db, province_db = database_factory("datahub"), database_factory("dataprov")
    bulk = synthetic.write_cnipa_csv(tmp_path / "bulk.csv", SYNTHETIC, seed=7)
    gi_path, ic_path = write_gi_ic(tmp_path, tag, GI_IC)
    gi_ic = (data_pb2.DATA_SET_GEOGRAPHICAL_INDICATIONS, data_pb2.DATA_SET_IC_LAYOUTS)
    with node("000000", hub_db, kafka_bootstrap, stream) as (hub_app, hub):
        topic = hub_app.mirror_topic()
        imp = hub_app.importer(250)
        imp.run("cnipa-csv", CNIPA)
        imp.run("euipo-json", FIXTURES / "trademarks/tm_list_size10.json")
        imp.run("cnipa-csv", bulk)
        # GIs and IC layouts after the patents: in each partition they queue behind them.
        assert imp.run("gi-json", gi_path).inserted == GI_IC
        assert imp.run("ic-layout-json", ic_path).inserted == GI_IC
        configs = kafka_topic_config(kafka_bootstrap, topic)
        assert configs.get("cleanup.policy") == "compact"
        hub_total = sum(n for n, _ in status(hub).values())

        # First run: the province catches up from nothing; stop it part-way.
        stop_part_way(province_db, kafka_bootstrap, stream, [data_pb2.DATA_SET_PATENTS], 60)
        midway = status_of_db(province_db, stream, kafka_bootstrap)
        total = SYNTHETIC + 10
        assert 60 <= midway < total, "stopped mid-way"

        # Second run: resumes; stopped again part-way through the GIs and IC layouts.
        stop_part_way(province_db, kafka_bootstrap, stream, gi_ic, 30)
        mirrored = gi_ic_of_db(province_db)
        assert 30 <= sum(mirrored) < 2 * GI_IC, f"stopped mid-way through GI/IC: {mirrored}"
        assert sum(mirrored) + status_of_db(province_db, stream, kafka_bootstrap) < hub_total

        # Meanwhile the hub changes: a record updated through the API, more imported.
        changed = hub.GetPatent(data_pb2.GetPatentRequest(number="CN202121635235.X"), timeout=10)
        changed.legal_status = "无权-未缴年费终止"
        reply = hub.PutPatent(data_pb2.PutPatentRequest(patent=changed), metadata=ADMIN, timeout=10)
        assert reply.outcome == "updated"
        imp.run("qichacha-json", FIXTURES / "trademarks/cn_trademarks_qichacha_api_3.json")
        gi = hub.GetGeographicalIndication(
            data_pb2.GetGeographicalIndicationRequest(gi_id=f"AGI-{tag}-3"), timeout=10
        )
        gi.name = "示例地理标志产品（更名）"
        hub.PutGeographicalIndication(
            data_pb2.PutGeographicalIndicationRequest(indication=gi), metadata=ADMIN, timeout=10
        )
        ic = hub.GetIcLayout(
            data_pb2.GetIcLayoutRequest(registration_number=f"BS.{tag}{GI_IC - 1:04d}"),
            timeout=10,
        )
        ic.name = "示例芯片版图（修订）"
        hub.PutIcLayout(data_pb2.PutIcLayoutRequest(layout=ic), metadata=ADMIN, timeout=10)

        # Restarted, it resumes from its committed position and converges.
        with node(PROVINCE, province_db, kafka_bootstrap, stream) as (prov_app, province):
            final = wait_equal(hub, province)
            assert final[data_pb2.DATA_SET_PATENTS][0] == total
            assert final[data_pb2.DATA_SET_TRADEMARKS][0] == 13
            assert final[data_pb2.DATA_SET_GEOGRAPHICAL_INDICATIONS][0] == GI_IC
            assert final[data_pb2.DATA_SET_IC_LAYOUTS][0] == GI_IC
            assert (
                province.GetGeographicalIndication(
                    data_pb2.GetGeographicalIndicationRequest(gi_id=f"AGI-{tag}-3"), timeout=10
                ).name
                == "示例地理标志产品（更名）"
            )
            mirrored = province.GetPatent(
                data_pb2.GetPatentRequest(number="CN202121635235.X"), timeout=10
            )
            assert mirrored.legal_status == "无权-未缴年费终止"
            assert mirrored.content_hash == reply.patent.content_hash
            reply = province.GetMirrorStatus(data_pb2.GetMirrorStatusRequest(), timeout=10)
            assert not reply.authoritative
            assert (
                int(
                    next(
                        s.position
                        for s in reply.data_sets
                        if s.data_set == data_pb2.DATA_SET_PATENTS
                    )
                )
                > 0
            )
            with pytest.raises(grpc.RpcError) as err:
                province.PutPatent(
                    data_pb2.PutPatentRequest(patent=changed), metadata=ADMIN, timeout=10
                )
            assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert prov_app.data_sets.mirror
            # Caught up: the completeness gauge (scrape time, offsets) reads 1.0.
            labels = {"node": PROVINCE, "dataset": "all"}
            eventually(
                lambda: (
                    REGISTRY.get_sample_value("puhui_data_mirror_completeness_ratio", labels) == 1.0
                ),
                30,
                interval=0.2,
            )
        # The hub exports no completeness series.
        assert (
            REGISTRY.get_sample_value(
                "puhui_data_mirror_completeness_ratio", {"node": "000000", "dataset": "all"}
            )
            is None
        )


def status_of_db(database_url, stream, kafka_bootstrap) -> int:
    """Patent count of a stopped node, read from its database."""
    from sqlalchemy import create_engine, func, select

    from puhui.data.adapters.tables import patents
    from puhui.kit.db import normalise_url

    engine = create_engine(normalise_url(database_url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(patents)).scalar_one())
    finally:
        engine.dispose()


def gi_ic_of_db(database_url) -> tuple[int, int]:
    """GI and IC layout counts of a stopped node, read from its database."""
    from sqlalchemy import create_engine, func, select

    from puhui.data.adapters.tables import geographical_indications, ic_layouts
    from puhui.kit.db import normalise_url

    engine = create_engine(normalise_url(database_url))
    try:
        with engine.connect() as conn:
            return tuple(  # type: ignore[return-value]
                int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in (geographical_indications, ic_layouts)
            )
    finally:
        engine.dispose()


def kafka_topic_config(bootstrap: str, topic: str) -> dict[str, str]:
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType

    admin = KafkaAdminClient(
        bootstrap_servers=kafka.servers(bootstrap), client_id="puhui-test-admin"
    )
    try:
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        entries = described["topic"][
            topic
        ]  # kafka-python 3: {"topic": {name: {key: {"value": …}}}}
        return {key: entry["value"] for key, entry in entries.items()}
    finally:
        admin.close()


def test_poison_mirror_events_go_to_the_dlq_without_losing_their_batch(
    database_factory, kafka_bootstrap, tmp_path, caplog
):
    """A record that is no envelope and a patent whose content hash was tampered with, in
    the middle of the hub's events: both dead-lettered (DLQ topic, inbox row for the
    envelope), every other event of their batches applied in the batch's transaction."""
    from google.protobuf import any_pb2
    from sqlalchemy import create_engine, text

    from puhui.data.v1 import events_pb2
    from puhui.events.v1 import envelope_pb2
    from puhui.kit.db import normalise_url
    from puhui.kit.ids import new_id

    stream = f"mirror.t{uuid.uuid4().hex[:12]}"
    hub_db, province_db = database_factory("datahubp"), database_factory("dataprovp")
    first = synthetic.write_cnipa_csv(tmp_path / "a.csv", 60, seed=11)
    with node("000000", hub_db, kafka_bootstrap, stream) as (hub_app, hub):
        topic = hub_app.mirror_topic()
        hub_app.importer(100).run("cnipa-csv", first)
        # Wait until the relay published them, then put the poison in between.
        relay = hub_app.relay
        eventually(lambda: relay is None or not relay.backlog()[0], 30)
        patent = hub.SearchPatents(data_pb2.SearchPatentsRequest(page_size=1)).patents[0]
        patent.title = "篡改的标题"  # the content hash no longer matches
        payload = any_pb2.Any()
        payload.Pack(events_pb2.PatentChanged(change="updated", patent=patent, sequence=10**9))
        tampered = envelope_pb2.EventEnvelope(
            event_id=new_id(),
            type=events_pb2.PatentChanged.DESCRIPTOR.full_name,
            source_node="000000",
            source_service="data",
            payload=payload,
        )
        producer = kafka.make_producer(kafka_bootstrap, "test-poison")
        for key in (patent.application_number, "poison-garbage"):
            value = tampered.SerializeToString() if key != "poison-garbage" else b"\xff\x00junk"
            for partition in range(3):  # one of each in every partition (so in a batch)
                producer.send(topic, key=key.encode(), value=value, partition=partition)
        producer.flush(timeout=15)
        producer.close()
        hub_app.importer(100).run(
            "cnipa-csv", synthetic.write_cnipa_csv(tmp_path / "b.csv", 60, seed=12)
        )

        with (
            caplog.at_level("INFO", logger="puhui.kit.batching"),
            node(PROVINCE, province_db, kafka_bootstrap, stream) as (_, province),
        ):
            final = wait_equal(hub, province)
            assert final[data_pb2.DATA_SET_PATENTS][0] == 120
            mirrored = province.GetPatent(
                data_pb2.GetPatentRequest(number=patent.application_number), timeout=10
            )
            assert mirrored.title != "篡改的标题"
        assert "replayed one by one" not in caplog.text  # the batch path handled the poison

    # Three undecodable records; the tampered event once (its copies carry the same event id:
    # the inbox row of the first makes the others duplicates).
    letters = read_all(kafka_bootstrap, kafka.dlq_topic(topic), expected=4)
    reasons = sorted(envelope_pb2.DeadLetter.FromString(v).reason[:20] for v in letters)
    assert reasons == ["content_hash: does n", *["not an EventEnvelope"] * 3]
    engine = create_engine(normalise_url(province_db))
    try:
        with engine.connect() as conn:
            outcomes = dict(
                conn.execute(
                    text("SELECT outcome, count(*) FROM puhui_inbox GROUP BY outcome")
                ).all()
            )
    finally:
        engine.dispose()
    assert outcomes == {"applied": 120, "dead_lettered": 1}


def read_all(bootstrap: str, topic: str, expected: int, timeout: float = 20.0) -> list[bytes]:
    consumer = kafka.make_consumer(bootstrap, f"test-{uuid.uuid4()}", "test-dlq-reader")
    consumer.subscribe(topics=[topic])
    values: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while len(values) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                values += [r.value for r in batch]
    finally:
        consumer.close(autocommit=False)
    return values

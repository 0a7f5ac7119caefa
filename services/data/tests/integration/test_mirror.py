"""A provincial node mirrors the hub's data sets through the compacted Kafka topic, reaching
the hub's count and hash after a bulk load, and again after being stopped mid-way."""

from __future__ import annotations

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
from puhui.kit.testing import running

pytestmark = pytest.mark.integration

PROVINCE = "440000"
SYNTHETIC = 400


@contextmanager
def node(node_id, database_url, kafka_bootstrap, stream):
    app = build(
        verifier=FixedVerifier(),
        node_id=node_id,
        database_url=database_url,
        kafka_bootstrap=kafka_bootstrap,
        mirror_stream=stream,
        quota_enabled=False,
        grpc_port=0,
        metrics_port=0,
    )
    with running(app) as host, grpc.insecure_channel(host.address) as channel:
        yield app, data_pb2_grpc.DataServiceStub(channel)


def status(stub) -> dict[int, tuple[int, str]]:
    reply = stub.GetMirrorStatus(data_pb2.GetMirrorStatusRequest(), timeout=10)
    return {s.data_set: (s.record_count, s.content_hash) for s in reply.data_sets}


def wait_equal(hub, province, timeout=90.0) -> dict[int, tuple[int, str]]:
    deadline = time.monotonic() + timeout
    want = status(hub)
    while time.monotonic() < deadline:
        got = status(province)
        if got == want:
            return got
        time.sleep(0.2)
    raise AssertionError(f"mirror did not converge: hub {want}, province {status(province)}")


def test_mirror_reaches_hub_count_and_hash_also_after_restart(
    database_factory, kafka_bootstrap, tmp_path
):
    stream = f"mirror.t{uuid.uuid4().hex[:12]}"
    hub_db, province_db = database_factory("datahub"), database_factory("dataprov")
    bulk = synthetic.write_cnipa_csv(tmp_path / "bulk.csv", SYNTHETIC, seed=7)
    with node("000000", hub_db, kafka_bootstrap, stream) as (hub_app, hub):
        topic = hub_app.mirror_topic()
        imp = hub_app.importer(250)
        imp.run("cnipa-csv", CNIPA)
        imp.run("euipo-json", FIXTURES / "trademarks/tm_list_size10.json")
        imp.run("cnipa-csv", bulk)
        configs = kafka_topic_config(kafka_bootstrap, topic)
        assert configs.get("cleanup.policy") == "compact"

        # First run: the province catches up from nothing; stop it part-way.
        with node(PROVINCE, province_db, kafka_bootstrap, stream) as (_, province):
            deadline = time.monotonic() + 30
            while (
                status(province)[data_pb2.DATA_SET_PATENTS][0] < 60 and time.monotonic() < deadline
            ):
                time.sleep(0.02)
        midway = status_of_db(province_db, stream, kafka_bootstrap)
        total = SYNTHETIC + 10
        assert 60 <= midway < total, "stopped mid-way"

        # Meanwhile the hub changes: a record updated through the API, more imported.
        changed = hub.GetPatent(data_pb2.GetPatentRequest(number="CN202121635235.X"), timeout=10)
        changed.legal_status = "无权-未缴年费终止"
        reply = hub.PutPatent(data_pb2.PutPatentRequest(patent=changed), metadata=ADMIN, timeout=10)
        assert reply.outcome == "updated"
        imp.run("qichacha-json", FIXTURES / "trademarks/cn_trademarks_qichacha_api_3.json")

        # Restarted, it resumes from its committed position and converges.
        with node(PROVINCE, province_db, kafka_bootstrap, stream) as (prov_app, province):
            final = wait_equal(hub, province)
            assert final[data_pb2.DATA_SET_PATENTS][0] == total
            assert final[data_pb2.DATA_SET_TRADEMARKS][0] == 13
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
            deadline = time.monotonic() + 30
            while (
                REGISTRY.get_sample_value("puhui_data_mirror_completeness_ratio", labels) != 1.0
                and time.monotonic() < deadline
            ):
                time.sleep(0.2)
            assert REGISTRY.get_sample_value("puhui_data_mirror_completeness_ratio", labels) == 1.0
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

    from puhui.data.adapters.db import patents
    from puhui.kit.db import normalise_url

    engine = create_engine(normalise_url(database_url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(patents)).scalar_one())
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

"""Two federations share one broker side by side (docs/adr/0022): each runs the same scenario
in its own process with its own PUHUI_FEDERATION_ID — a province publishes events through its
outbox, a forged event naming another node lands on the province's topic, and the hub counts
what it applies with the same consumer group name and topic pattern in both — and each hub
counts only its own federation's events and drops the forged one."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable

import pytest

pytestmark = pytest.mark.integration

SCENARIO = r"""
import json, sys, time, uuid
from google.protobuf import any_pb2, wrappers_pb2
from puhui.events.v1 import envelope_pb2
from puhui.kit import kafka, metrics
from puhui.kit.db import Database, new_metadata
from puhui.kit.inbox import EventConsumer, inbox_table
from puhui.kit.outbox import Outbox, OutboxRelay, outbox_table

bootstrap, url, count, stream = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
metadata = new_metadata()
outbox_t, inbox_t = outbox_table(metadata), inbox_table(metadata)
db = Database(url)
db.start()
metadata.create_all(db.engine)
topic = kafka.topic_name("440000", "kittest", stream)
kafka.ensure_topics(bootstrap, [topic])
applied = []
hub = EventConsumer(
    db, inbox_t, bootstrap, group="puhui.000000.federation.kittest",
    handler=lambda session, envelope: applied.append(envelope.event_id),
    node="000000", service="kittest", pattern=kafka.topic_pattern("kittest", stream),
)
outbox = Outbox(outbox_t, "440000", "kittest")
with db.transaction() as s:
    for i in range(count):
        outbox.record(s, wrappers_pb2.StringValue(value=str(i)), subject=f"s/{i}", stream=stream)
relay = OutboxRelay(db, outbox, bootstrap)
assert relay.publish_once() == count
relay.stop()
payload = any_pb2.Any()
payload.Pack(wrappers_pb2.StringValue(value="forged"))
forged = envelope_pb2.EventEnvelope(
    event_id=str(uuid.uuid4()), type="google.protobuf.StringValue", source_node="650000",
    subject="s/forged", payload=payload,
)
producer = kafka.make_producer(bootstrap, "forger")
producer.send(topic, forged.SerializeToString()).get(timeout=15)
producer.close()
quiet_until = None
deadline = time.monotonic() + 90
while time.monotonic() < deadline:
    before = len(applied)
    hub.poll_once()
    if len(applied) >= count and len(applied) == before:
        quiet_until = quiet_until or time.monotonic() + 5  # anything else would arrive now
        if time.monotonic() > quiet_until:
            break
hub._close()
foreign = metrics.KAFKA_CONSUMED.labels(
    node="000000", service="kittest", group="puhui.000000.federation.kittest",
    topic=topic, outcome="foreign",
)._value.get()
print(json.dumps({"topic": topic, "applied": len(applied), "foreign": foreign}))
"""


def test_two_federations_on_one_broker_each_count_only_their_own(
    kafka_bootstrap: str, database_factory: Callable[[str], str]
) -> None:
    stream = f"ns{secrets.token_hex(3)}"
    counts = {f"ta{secrets.token_hex(2)}": 7, f"tb{secrets.token_hex(2)}": 11}
    procs = {}
    for federation, count in counts.items():
        env = {**os.environ, "PUHUI_FEDERATION_ID": federation}
        argv = [sys.executable, "-c", SCENARIO, kafka_bootstrap, database_factory(federation)]
        procs[federation] = subprocess.Popen(
            [*argv, str(count), stream], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    for federation, count in counts.items():
        out, err = procs[federation].communicate(timeout=180)
        assert procs[federation].returncode == 0, err.decode()[-3000:]
        result = json.loads(out.decode().strip().splitlines()[-1])
        assert result["topic"] == f"puhui.{federation}.440000.kittest.{stream}"
        assert result["applied"] == count, result  # its own events, none of the other's
        assert result["foreign"] == 1, result  # the forged envelope was dropped and counted

"""One trace across gRPC, the outbox, Kafka and a consumer on another node, received by an
OTLP/gRPC collector on loopback: operator span → CLIENT (kit grpc_client) → SERVER on node
440000 → PRODUCER (outbox relay) → CONSUMER on node 000000, which also links the span that
recorded the event (docs/tracing.md)."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Sequence

import grpc
import pytest
from google.protobuf import wrappers_pb2
from opentelemetry.proto.trace.v1 import trace_pb2
from prometheus_client import REGISTRY

from puhui.kit import config, grpc_client, kafka, tracing
from puhui.kit.db import new_metadata
from puhui.kit.inbox import inbox_table
from puhui.kit.outbox import outbox_table
from puhui.kit.server import GrpcService, ServiceApp
from puhui.kit.testing import otlp_receiver, running

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PROVINCE, HUB = "440000", "000000"
METHOD = "/puhui.tracetest.v1.Probe/Record"


class ProbeApp(ServiceApp):
    """A province service whose one RPC records an event in its outbox."""

    name = "tracesrc"

    def start(self) -> None:
        self.db.start()
        assert self.db.engine is not None
        self.metadata.create_all(self.db.engine)
        super().start()

    def grpc_services(self) -> Sequence[GrpcService]:
        def record(request: bytes, context: grpc.ServicerContext) -> bytes:
            with self.db.transaction() as session:
                self.outbox.record(
                    session, wrappers_pb2.StringValue(value="probe"), subject=request.decode()
                )
            return b"ok"

        handler = grpc.method_handlers_generic_handler(
            "puhui.tracetest.v1.Probe", {"Record": grpc.unary_unary_rpc_method_handler(record)}
        )
        return [
            GrpcService(
                "puhui.tracetest.v1.Probe", lambda s: s.add_generic_rpc_handlers((handler,))
            )
        ]


class SinkApp(ServiceApp):
    """A hub service consuming the province's events."""

    name = "tracesink"

    def __init__(self, cfg: config.ServiceConfig, subject: str) -> None:
        metadata = new_metadata()
        outbox_table(metadata)
        inbox_table(metadata)
        super().__init__(cfg, metadata)
        self.subject = subject
        self.applied = threading.Event()

    def start(self) -> None:
        self.db.start()
        assert self.db.engine is not None
        self.metadata.create_all(self.db.engine)
        super().start()

    def grpc_services(self) -> Sequence[GrpcService]:
        return []

    def consumers(self):  # type: ignore[no-untyped-def]
        def handle(session, envelope) -> None:  # type: ignore[no-untyped-def]
            if envelope.subject == self.subject:
                self.applied.set()

        return [
            self.consumer(
                group=f"tracesink-{self.subject}",
                handler=handle,
                topics=[kafka.topic_name(PROVINCE, "tracesrc")],
            )
        ]


def app_config(
    service: str, node: str, url: str, bootstrap: str, endpoint: str
) -> config.ServiceConfig:
    return config.load(
        config.ServiceConfig,
        {},
        service=service,
        node_id=node,
        database_url=url,
        kafka_bootstrap=bootstrap,
        migrate_on_start=False,
        otlp_endpoint=endpoint,
        grpc_port=0,
        metrics_port=0,
    )


def test_one_trace_from_a_grpc_call_through_the_outbox_to_a_consumer_on_another_node(
    database_factory, kafka_bootstrap
):
    subject = f"trace-{secrets.token_hex(6)}"
    with otlp_receiver() as (received, endpoint):
        endpoint = f"http://{endpoint}"
        metadata = new_metadata()
        outbox_table(metadata)
        inbox_table(metadata)
        province = ProbeApp(
            app_config(
                "tracesrc", PROVINCE, database_factory("tracesrc"), kafka_bootstrap, endpoint
            ),
            metadata,
        )
        hub = SinkApp(
            app_config("tracesink", HUB, database_factory("tracesink"), kafka_bootstrap, endpoint),
            subject,
        )
        try:
            with running(province) as province_host, running(hub):
                channel = grpc_client.insecure_channel(
                    province_host.address, node=HUB, service="operator", target_service="tracesrc"
                )
                with (
                    channel,
                    tracing.tracer("test").start_as_current_span("operator action") as root,
                ):
                    call = channel.unary_unary(METHOD)
                    assert call(subject.encode()) == b"ok"
                trace_id = root.get_span_context().trace_id.to_bytes(16, "big")
                assert hub.applied.wait(60), "the hub never applied the event"
                sink = {"node": HUB, "service": "tracesink"}
                group = {**sink, "group": f"tracesink-{subject}"}
                polled = REGISTRY.get_sample_value(
                    "puhui_kafka_consumer_last_poll_timestamp_seconds", group
                )
                assert polled is not None
                assert 1.7e9 < polled <= time.time()  # a unix time, set by the consumer
                lag = REGISTRY.get_sample_value(
                    "puhui_replication_lag_seconds", {**sink, "source_node": PROVINCE}
                )
                assert lag is not None
                assert lag >= 0
                deadline = time.monotonic() + 30
                while not any(
                    s.kind == trace_pb2.Span.SPAN_KIND_CONSUMER for s in received.trace(trace_id)
                ):
                    assert time.monotonic() < deadline, [s.name for s in received.trace(trace_id)]
                    tracing.flush()
                    time.sleep(0.2)
        finally:
            tracing.stop_export(endpoint)

    spans = received.trace(trace_id)
    by_kind = {trace_pb2.Span.SpanKind.Name(s.kind): s for s in spans}
    assert set(by_kind) >= {
        "SPAN_KIND_INTERNAL",
        "SPAN_KIND_CLIENT",
        "SPAN_KIND_SERVER",
        "SPAN_KIND_PRODUCER",
        "SPAN_KIND_CONSUMER",
    }
    root_span, client, server = (
        by_kind["SPAN_KIND_INTERNAL"],
        by_kind["SPAN_KIND_CLIENT"],
        by_kind["SPAN_KIND_SERVER"],
    )
    producer, consumer = by_kind["SPAN_KIND_PRODUCER"], by_kind["SPAN_KIND_CONSUMER"]

    # one chain of parents, across the gRPC hop, the outbox and Kafka
    assert root_span.parent_span_id == b""
    assert client.parent_span_id == root_span.span_id
    assert server.parent_span_id == client.span_id
    assert producer.parent_span_id == server.span_id
    assert consumer.parent_span_id == producer.span_id
    # and the consumer links the span that recorded the event
    assert [(link.trace_id, link.span_id) for link in consumer.links] == [
        (trace_id, server.span_id)
    ]

    def attrs(span: trace_pb2.Span) -> dict[str, str]:
        return {a.key: a.value.string_value for a in span.attributes}

    assert client.name == server.name == "Probe/Record"
    assert attrs(server)["puhui.node"] == PROVINCE
    assert attrs(consumer)["puhui.node"] == HUB
    topic = kafka.topic_name(PROVINCE, "tracesrc")
    assert producer.name == f"{topic} publish"
    assert consumer.name == f"{topic} process"
    assert attrs(producer)["messaging.message.id"] == attrs(consumer)["messaging.message.id"]

"""Federation process (hub only): registry + trust anchor + national read models."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from puhui.federation import national, policy
from puhui.federation.adapters.db import metadata
from puhui.federation.adapters.registry_store import SqlRegistryStore
from puhui.federation.config import FederationConfig
from puhui.federation.registry import Registry, StatementRelay, load_anchor
from puhui.federation.servicer import FederationServicer, grpc_mirror_probe
from puhui.federation.v1 import federation_pb2, federation_pb2_grpc
from puhui.kit import auth, kafka, server, trust
from puhui.kit import config as kit_config
from puhui.kit.batching import BatchingEventConsumer
from puhui.kit.config import HUB_NODE_ID
from puhui.kit.inbox import EventConsumer

logger = logging.getLogger(__name__)


class FederationApp(server.ServiceApp):
    name = "federation"

    def __init__(
        self, config: FederationConfig, *, verifier: auth.TokenVerifier | None = None
    ) -> None:
        super().__init__(config, metadata, verifier=verifier)
        self.federation_config = config
        self.registry: Registry | None = None
        self.keys_relay: StatementRelay | None = None
        self.servicer: FederationServicer | None = None
        self.lags = national.LagTracker()

    @property
    def anchor(self) -> trust.TrustAnchor:
        assert self.registry is not None, "start() first"
        return self.registry.anchor

    def start(self) -> None:
        super().start()
        cfg = self.federation_config
        self.registry = Registry(
            self.db,
            load_anchor(self.db, cfg.anchor_key, SqlRegistryStore),
            store=SqlRegistryStore,
            validity=timedelta(days=cfg.statement_validity_days),
        )
        if cfg.preset_join_codes:
            self.registry.preset_join_codes(cfg.preset_join_codes)
        if cfg.kafka_bootstrap:
            try:
                trust.ensure_keys_topic(cfg.kafka_bootstrap, cfg.keys_topic)
            except Exception:
                logger.warning(
                    "could not create the keys topic; the broker may auto-create it", exc_info=True
                )
            self.keys_relay = StatementRelay(
                self.db, self.registry, cfg.kafka_bootstrap, cfg.keys_topic
            )
            self.keys_relay.start()

    def stop(self) -> None:
        if self.keys_relay is not None:
            self.keys_relay.stop()
        super().stop()

    def _hub_data_address(self) -> str | None:
        if self.federation_config.hub_data_address:
            return self.federation_config.hub_data_address
        if self.registry is None:
            return None
        try:
            return self.registry.get(HUB_NODE_ID).endpoint("data")
        except Exception:
            return None

    def grpc_services(self) -> Sequence[server.GrpcService]:
        self.servicer = FederationServicer(
            self.registry,  # type: ignore[arg-type]  # set in start(), before serving
            self.db,
            mirror_probe=grpc_mirror_probe(self.federation_config.status_call_timeout_seconds),
            hub_data_address=self._hub_data_address,
            keys_topic=self.federation_config.keys_topic,
            lags=self.lags,
            model_consumers=[
                f"{self.federation_config.consumer_group}.catalog",
                f"{self.federation_config.consumer_group}.feedback",
            ],
        )
        servicer = self.servicer
        return [
            server.GrpcService(
                federation_pb2.DESCRIPTOR.services_by_name["FederationService"].full_name,
                lambda s: federation_pb2_grpc.add_FederationServiceServicer_to_server(servicer, s),
                policy.POLICY,
            )
        ]

    def batching_consumer(self, *, group: str, handler: Any, **kw: Any) -> EventConsumer:
        """Like `ServiceApp.consumer`, applying each polled batch in one transaction."""
        return BatchingEventConsumer(
            self.db,
            self.inbox,
            self.config.kafka_bootstrap,
            group=group,
            handler=handler,
            node=self.node,
            service=self.name,
            **kw,
        )

    def consumers(self) -> Sequence[EventConsumer]:
        assert self.registry is not None
        group = self.federation_config.consumer_group
        out = [
            self.consumer(
                group=f"{group}.keys",
                handler=national.key_set_handler(self.registry),
                pattern=kafka.topic_pattern("identity"),
            )
        ]
        if self.federation_config.national_models:
            out += [
                self.batching_consumer(
                    group=f"{group}.catalog",
                    handler=national.apply_catalog,
                    pattern=kafka.topic_pattern("catalog"),
                    on_applied=self.lags,
                ),
                self.batching_consumer(
                    group=f"{group}.feedback",
                    handler=national.apply_feedback,
                    batch_handler=national.apply_feedback_batch,
                    pattern=kafka.topic_pattern("feedback"),
                    on_applied=self.lags,
                ),
            ]
        return out


def build(*, verifier: auth.TokenVerifier | None = None, **overrides: Any) -> FederationApp:
    return FederationApp(kit_config.load(FederationConfig, **overrides), verifier=verifier)


def main() -> None:
    server.run(build)

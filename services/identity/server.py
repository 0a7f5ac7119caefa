"""Identity process: the app (parts and lifecycle) and its entry point."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from puhui.identity import crypto, domain, policy
from puhui.identity.adapters.db import SqlUnitOfWork, metadata
from puhui.identity.adapters.revocations import NodeRevocations
from puhui.identity.adapters.served import served_handler
from puhui.identity.adapters.throttle import MemoryThrottle, RedisThrottle
from puhui.identity.config import IdentityConfig
from puhui.identity.servicer import IdentityServicer, OutboxEvents
from puhui.identity.v1 import identity_pb2, identity_pb2_grpc
from puhui.kit import config as kit_config
from puhui.kit import kafka, revocation, server, tokens
from puhui.kit.inbox import EventConsumer

logger = logging.getLogger(__name__)


def throttle_policy(config: IdentityConfig) -> domain.ThrottlePolicy:
    return domain.ThrottlePolicy(
        free_failures=config.throttle_free_failures,
        base_delay=config.throttle_base_delay_seconds,
        max_delay=config.throttle_max_delay_seconds,
        lockout_failures=config.throttle_lockout_failures,
        lockout_seconds=config.throttle_lockout_seconds,
        address_ceiling=config.throttle_address_ceiling,
        window_seconds=config.throttle_window_seconds,
    )


def argon2_parameters(config: IdentityConfig) -> crypto.Argon2Parameters:
    return crypto.Argon2Parameters(
        time_cost=config.argon2_time_cost,
        memory_kib=config.argon2_memory_kib,
        parallelism=config.argon2_parallelism,
    )


class IdentityApp(server.ServiceApp):
    """Identity's parts. Redis-backed throttling and revocation replace the in-process
    stores in `start()` when PUHUI_REDIS_URL is set."""

    name = "identity"

    def __init__(self, config: IdentityConfig, **kw) -> None:  # type: ignore[no-untyped-def]
        self.key_sets = tokens.KeySets(
            lambda issuer: self._own_jwks(issuer),
            ttl_seconds=config.jwks_cache_seconds,
            unknown_kid_retry_seconds=1.0,
        )
        self.revocations: tokens.RevocationStore = tokens.MemoryRevocationStore()
        self.jwt_verifier = tokens.JwtVerifier(
            self.key_sets,
            audience=config.token_audience,
            issuers=None,
            revocation_store=self.revocations,
            leeway=config.token_leeway_seconds,
        )
        kw.setdefault("verifier", self.jwt_verifier)
        super().__init__(config, metadata, **kw)
        self.identity_config = config
        self.identity = domain.Identity(
            config.node_id,
            SqlUnitOfWork(self.db, lambda session: OutboxEvents(self.outbox, session)),
            passwords=crypto.Passwords(argon2_parameters(config)),
            id_numbers=crypto.IdNumberProtector(config.id_number_key_bytes()),
            vault=crypto.KeyVault(config.key_encryption_key_bytes()),
            throttle=MemoryThrottle(throttle_policy(config)),
            # This node's revocations: applied here at once and published through the outbox
            # to every service of every node (ADR 0014).
            revocations=NodeRevocations(
                config.node_id, lambda: self.revocations, db=self.db, outbox=self.outbox
            ),
            settings=domain.TokenSettings(
                access_ttl=config.access_token_ttl_seconds,
                refresh_ttl=config.refresh_token_ttl_seconds,
                service_ttl=config.service_token_ttl_seconds,
                leeway=config.token_leeway_seconds,
                audiences=config.trusted_audiences,
                key_cache_seconds=config.jwks_cache_seconds,
            ),
        )
        self.servicer = IdentityServicer(self.identity)

    def _own_jwks(self, issuer: str) -> dict | None:  # type: ignore[type-arg]
        return self.identity.jwks() if issuer == self.node else None

    def start(self) -> None:
        super().start()
        if self.redis is not None:
            self.revocations = tokens.RedisRevocationStore(self.redis)
            self.jwt_verifier.revocations = self.revocations
            self.identity.throttle = RedisThrottle(
                self.redis, throttle_policy(self.identity_config)
            )
        self.identity.ensure_signing_key()

    def consumers(self) -> Sequence[EventConsumer]:
        """The served-persons read model, from every node's feedback cases (a person of
        this node may be served by an institution of another)."""
        return [
            self.consumer(
                group=f"puhui-{self.node}-identity-served",
                handler=served_handler(self.node),
                pattern=kafka.topic_pattern("feedback"),
            )
        ]

    def start_consumers(self) -> None:
        if self.config.kafka_bootstrap:
            try:  # one partition, kept a day: followers read the last hours of it on start
                revocation.ensure_revocations_topic(self.config.kafka_bootstrap, self.node)
            except Exception:
                logger.warning("identity: could not create the revocations topic", exc_info=True)
        super().start_consumers()

    def grpc_services(self) -> Sequence[server.GrpcService]:
        return [
            server.GrpcService(
                identity_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name,
                lambda s: identity_pb2_grpc.add_IdentityServiceServicer_to_server(self.servicer, s),
                policy.POLICY,
            )
        ]


def build(**overrides) -> IdentityApp:  # type: ignore[no-untyped-def]
    return IdentityApp(kit_config.load(IdentityConfig, **overrides))


def main() -> None:
    server.run(build)

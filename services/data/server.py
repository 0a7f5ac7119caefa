"""Data process: the app (parts and lifecycle) and its entry point."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from puhui.data import domain, metrics, mirror, policy
from puhui.data.adapters.quota import MemoryCounters, RedisCounters
from puhui.data.adapters.reads import SqlReadModel
from puhui.data.adapters.search import WALK_SESSION, SearchCache
from puhui.data.adapters.store import SqlStore
from puhui.data.adapters.tables import metadata
from puhui.data.config import DataConfig
from puhui.data.importers.runner import Importer
from puhui.data.quota import GrpcQuota, Quota, parse_limits
from puhui.data.reference import ReferenceServicer
from puhui.data.servicer import DataServicer
from puhui.data.v1 import data_pb2, data_pb2_grpc
from puhui.events.v1 import envelope_pb2
from puhui.kit import auth, kafka, server
from puhui.kit import config as kit_config
from puhui.kit.batching import BatchingEventConsumer
from puhui.kit.db import is_postgresql_url
from puhui.kit.inbox import EventConsumer

logger = logging.getLogger(__name__)

MIRROR_TOPIC_CONFIG = {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"}


class DataApp(server.ServiceApp):
    name = "data"
    # Searches bind LIKE patterns and IPC keys: a generic plan made for a frequent key walks
    # the whole table for a rare one (measured: 580 ms for an absent IPC group at 1M
    # records after a few G06F searches, 1.3 ms planned for its value).
    plan_every_execution = True

    def __init__(
        self,
        config: DataConfig,
        *,
        verifier: auth.TokenVerifier | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(config, metadata, verifier=verifier)
        self.clock = clock
        self.data_config = config
        self.data_sets = domain.DataSets(
            config.node_id,
            mirror=config.is_mirror,
            store=SqlStore(self.db, self.outbox, config.mirror_stream),
        )
        # Searches read on connections of their own whose statements PostgreSQL stops after
        # PUHUI_DATA_SEARCH_TIMEOUT_MS (0, or SQLite: the one database).
        limit = {"statement_timeout": config.search_timeout_ms} if config.search_timeout_ms else {}
        self.search_db = self.side_database("search_", **limit) if limit else self.db
        # Pages of searches known to walk over many matches (adapters.search.planned_walk) run
        # on connections that can only walk, planned once (WALK_SESSION). None: every search
        # is planned for its values.
        self.walk_db = (
            self.side_database("walk_", **WALK_SESSION, **limit)
            if config.planned_walks and config.search_cache and is_postgresql_url(self.db.url)
            else None
        )
        self.reads = SqlReadModel(
            self.db,
            search_db=self.search_db,
            walk_db=self.walk_db,
            search_cache=SearchCache(enabled=config.search_cache),
            exact_count_limit=config.exact_count_limit,
            search_timeout_ms=config.search_timeout_ms,
            node_id=config.node_id,
        )
        self.servicer = DataServicer(
            self.data_sets,
            self.reads,
            max_query_length=config.max_query_length,
            node_id=config.node_id,
            export_streams=config.export_stream_limit,
        )
        self.reference = ReferenceServicer()
        self._completeness: metrics.MirrorPosition | None = None

    # -- topics ------------------------------------------------------------------------------
    def mirror_topic(self) -> str:
        """The compacted topic the hub publishes every data-set change to."""
        return kafka.topic_name(
            self.data_config.mirror_source_node, self.name, self.data_config.mirror_stream
        )

    def topics(self) -> Sequence[str]:
        return (self.outbox.topic(),)

    def start(self) -> None:
        super().start()
        if self.data_config.quota_enabled:
            store = RedisCounters(self.redis) if self.redis is not None else MemoryCounters()
            self.servicer.quota = GrpcQuota(
                Quota(
                    store,
                    parse_limits(self.data_config.quota_limits),
                    clock=self.clock,
                    namespace=self.data_config.quota_namespace,
                    node=self.node,
                )
            )
        bootstrap = self.config.kafka_bootstrap
        if bootstrap and not self.data_config.is_mirror and kafka.reachable(bootstrap):
            # Created compacted before the relay's first send would auto-create it.
            try:
                kafka.ensure_topics(bootstrap, [self.mirror_topic()], configs=MIRROR_TOPIC_CONFIG)
            except Exception:
                logger.warning("data: could not create the mirror topic", exc_info=True)
        if bootstrap and self.data_config.is_mirror and self.data_config.mirror_enabled:
            self._completeness = metrics.watch_mirror(
                self.node, bootstrap, self.mirror_topic(), self.mirror_group()
            )

    def stop(self) -> None:
        metrics.unwatch_mirror(self._completeness)
        self._completeness = None
        super().stop()

    def grpc_services(self) -> Sequence[server.GrpcService]:
        return [
            server.GrpcService(
                data_pb2.DESCRIPTOR.services_by_name["DataService"].full_name,
                lambda s: data_pb2_grpc.add_DataServiceServicer_to_server(self.servicer, s),
                policy.DATA_POLICY,
            ),
            server.GrpcService(
                data_pb2.DESCRIPTOR.services_by_name["ReferenceService"].full_name,
                lambda s: data_pb2_grpc.add_ReferenceServiceServicer_to_server(self.reference, s),
                policy.REFERENCE_POLICY,
            ),
        ]

    def importer(self, batch_size: int = 0) -> Importer:
        """An importer writing to this app's database and outbox (mirror stream included)."""
        return Importer(
            self.db,
            self.data_sets,
            self.outbox,
            mirror_stream=self.data_config.mirror_stream,
            batch_size=batch_size or self.data_config.import_batch_size,
        )

    # -- mirror ------------------------------------------------------------------------------
    def consumers(self) -> Sequence[EventConsumer]:
        if not (self.data_config.is_mirror and self.data_config.mirror_enabled):
            return ()
        return [self.mirror_consumer()]

    def mirror_group(self) -> str:
        return f"puhui-data-mirror-{self.node}-{self.data_config.mirror_stream}"

    def mirror_consumer(self) -> EventConsumer:
        """Each poll's events applied in one transaction (puhui.data.mirror)."""
        return BatchingEventConsumer(
            self.db,
            self.inbox,
            self.config.kafka_bootstrap,
            group=self.mirror_group(),
            handler=self.apply_mirror_event,
            prepare=mirror.decode_record,
            batch_handler=functools.partial(mirror.apply_batch, self.data_sets),
            node=self.node,
            service=self.name,
            topics=[self.mirror_topic()],
            max_records=self.data_config.mirror_batch,
        )

    def apply_mirror_event(self, session: Session, envelope: envelope_pb2.EventEnvelope) -> None:
        """One mirror event in its own transaction (the kit path; a failed batch's replay)."""
        mirror.apply_one(self.data_sets, session, envelope)


def build(  # type: ignore[no-untyped-def]
    *,
    verifier: auth.TokenVerifier | None = None,
    clock: Callable[[], float] = time.time,
    **overrides,
) -> DataApp:
    return DataApp(kit_config.load(DataConfig, **overrides), verifier=verifier, clock=clock)


def main() -> None:
    server.run(build)

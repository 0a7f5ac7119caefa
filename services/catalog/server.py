"""Catalog process: the app (parts and lifecycle) and its entry point."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from puhui.catalog import metrics, policy
from puhui.catalog.adapters.match import SqlMatchReadModel
from puhui.catalog.adapters.search import TotalCache
from puhui.catalog.adapters.tables import metadata
from puhui.catalog.adapters.unit_of_work import SqlUnitOfWork
from puhui.catalog.config import CatalogConfig
from puhui.catalog.domain import Catalog
from puhui.catalog.servicer import CatalogServicer
from puhui.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from puhui.kit import config as kit_config
from puhui.kit import server
from puhui.kit.auth import TokenVerifier


class CatalogApp(server.ServiceApp):
    name = "catalog"
    # Searches bind their LIKE patterns and id arrays: plan each execution for them.
    plan_every_execution = True

    def __init__(self, config: CatalogConfig, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(config, metadata, **kw)
        # Match's one statement (region codes and categories by array, the city as a range,
        # no patterns: indexed lookups whatever the values) runs on its cached generic plan:
        # under the default mode PostgreSQL kept planning it each time (~0.8 ms of its
        # ~3 ms). Its own small pool (one connection per gRPC worker); SQLite shares the
        # one database.
        self.match_db = self.side_database("match_", plan_cache_mode="force_generic_plan")
        self.totals = TotalCache(enabled=config.count_cache)
        self.catalog = Catalog(
            node=config.node_id,
            uow=SqlUnitOfWork(self.db, self.outbox, self.totals),
            match_reads=SqlMatchReadModel(self.match_db),
        )
        self.servicer = CatalogServicer(self.catalog)

    def start(self) -> None:
        super().start()
        metrics.watch_institutions(self.node, self.db)

    def stop(self) -> None:
        metrics.unwatch_institutions(self.node)
        super().stop()

    def grpc_services(self) -> Sequence[server.GrpcService]:
        return [
            server.GrpcService(
                catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"].full_name,
                lambda s: catalog_pb2_grpc.add_CatalogServiceServicer_to_server(self.servicer, s),
                policy.POLICY,
            )
        ]


def build(verifier: TokenVerifier | None = None, **overrides: Any) -> CatalogApp:
    return CatalogApp(kit_config.load(CatalogConfig, **overrides), verifier=verifier)


def main() -> None:
    server.run(build)

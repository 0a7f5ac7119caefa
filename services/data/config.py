"""Data service settings: the kit's ServiceConfig plus mirror and quota settings."""

from __future__ import annotations

import dataclasses
import os

from puhui.kit.config import HUB_NODE_ID, ConfigError, ServiceConfig, setting


@dataclasses.dataclass(frozen=True)
class DataConfig(ServiceConfig):
    service: str = setting("PUHUI_SERVICE", "data", doc="Service name.")
    grpc_workers: int = setting(
        "PUHUI_GRPC_WORKERS",
        8,
        doc="gRPC server thread-pool size. The data service holds a worker for each open"
        " export stream, so it keeps more than the other services' 4; on 2 cores, 8 workers"
        " gave the 16-client search mix p99 57 ms where 16 gave 88 ms (bench/data_patents).",
    )
    mirror_source_node: str = setting(
        "PUHUI_DATA_MIRROR_SOURCE_NODE",
        HUB_NODE_ID,
        doc="Node whose data sets a provincial node mirrors (the hub).",
    )
    mirror_stream: str = setting(
        "PUHUI_DATA_MIRROR_STREAM",
        "mirror",
        doc="Stream name of the compacted mirror topic (puhui.<hub>.data.<stream>).",
    )
    mirror_enabled: bool = setting(
        "PUHUI_DATA_MIRROR_ENABLED",
        True,
        doc="On a provincial node, consume the hub's mirror topic into this node's database.",
    )
    mirror_batch: int = setting(
        "PUHUI_DATA_MIRROR_BATCH",
        500,
        doc="Mirror events a provincial node applies in one transaction (one poll).",
    )
    import_batch_size: int = setting(
        "PUHUI_DATA_IMPORT_BATCH_SIZE", 500, doc="Records per import transaction."
    )
    quota_enabled: bool = setting(
        "PUHUI_DATA_QUOTA_ENABLED", True, doc="Enforce per-tier request and export quotas."
    )
    quota_limits: str = setting(
        "PUHUI_DATA_QUOTAS",
        "anonymous=30/2000,innovator=120/20000,institution=600/200000,node=6000/50000000",
        doc="Per tier: requests per minute / exported records per day.",
        example="anonymous=30/2000,innovator=120/20000,institution=600/200000,node=6000/50000000",
    )
    quota_namespace: str = setting(
        "PUHUI_DATA_QUOTA_NAMESPACE",
        "puhui:data:quota",
        doc="Redis key prefix of the quota counters.",
    )
    max_query_length: int = setting(
        "PUHUI_DATA_MAX_QUERY_LENGTH", 200, doc="Longest accepted search text (characters)."
    )

    exact_count_limit: int = setting(
        "PUHUI_DATA_EXACT_COUNT_LIMIT",
        100,
        doc="SearchPatents counts matches exactly up to this many (one more means 'more than"
        " this'); exact whatever the size when facets are asked for.",
    )
    search_cache: bool = setting(
        "PUHUI_DATA_SEARCH_CACHE",
        True,
        doc="Reuse SearchPatents counts and facets computed at the current version of the"
        " patent data set (exact: any committed write changes the version; PostgreSQL only)."
        " Off: every search counts, and computes its facets, again.",
    )

    search_concurrency: int = setting(
        "PUHUI_DATA_SEARCH_CONCURRENCY",
        0,
        doc="SearchPatents calls that run at once; the others wait, longest first, until"
        " their deadline. 0: the machine's cores + 1. A search is Python (one"
        " core under the GIL) then PostgreSQL: a few at once keep both busy, while every"
        " worker at once only spreads the waiting unevenly (bench/data_patents, 2 cores,"
        " alternating runs: p99 38.8 and 40.0 ms with 3 against 46.6 and 47.0 with all 8).",
    )

    @property
    def search_slots(self) -> int:
        return self.search_concurrency or (os.cpu_count() or 1) + 1

    def validate(self) -> None:
        super().validate()
        from puhui.data.quota import parse_limits

        if self.search_concurrency < 0:
            raise ConfigError("configuration: PUHUI_DATA_SEARCH_CONCURRENCY must be 0 or more")
        if self.exact_count_limit < 1:
            raise ConfigError("configuration: PUHUI_DATA_EXACT_COUNT_LIMIT must be at least 1")
        try:
            parse_limits(self.quota_limits)
        except ValueError as exc:
            raise ConfigError(f"configuration: PUHUI_DATA_QUOTAS is malformed: {exc}") from None

    @property
    def is_mirror(self) -> bool:
        return self.node_id != self.mirror_source_node

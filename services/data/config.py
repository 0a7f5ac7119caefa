"""Data service settings: the kit's ServiceConfig plus mirror and quota settings."""

from __future__ import annotations

import dataclasses

from puhui.kit.config import HUB_NODE_ID, ConfigError, ServiceConfig, setting


@dataclasses.dataclass(frozen=True)
class DataConfig(ServiceConfig):
    service: str = setting("PUHUI_SERVICE", "data", doc="Service name.")
    grpc_workers: int = setting(
        "PUHUI_GRPC_WORKERS",
        4,
        doc="Worker threads for unary calls (searches, lookups); calls beyond them wait in"
        " arrival order (puhui_grpc_server_queued_requests), at most PUHUI_GRPC_QUEUE of them."
        " Export streams run on PUHUI_GRPC_STREAM_WORKERS, never on these"
        " (measured with bench/data_patents.py).",
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

    export_streams: int = setting(
        "PUHUI_DATA_EXPORT_STREAMS",
        0,
        doc="ExportPatents streams open at once (the database work of exports); one more is"
        " refused at once with RESOURCE_EXHAUSTED and a RetryInfo. Each holds one of"
        " PUHUI_GRPC_STREAM_WORKERS until it ends. 0: half of PUHUI_GRPC_WORKERS. Must be"
        " below PUHUI_GRPC_WORKERS.",
    )

    planned_walks: bool = setting(
        "PUHUI_DATA_PLANNED_WALKS",
        True,
        doc="Run the page of a search whose cached count says it walks over many matches"
        " (IPC keys, province + IPC, year walks) on connections of its own that plan each"
        " statement once and can only walk an index in record id order: 100-300 µs less"
        " PostgreSQL CPU a search at 1M records. Off: every search is planned for its values."
        " PostgreSQL with PUHUI_DATA_SEARCH_CACHE only.",
    )

    search_timeout_ms: int = setting(
        "PUHUI_DATA_SEARCH_TIMEOUT_MS",
        5000,
        doc="A search's database statements are stopped after this long (PostgreSQL"
        " statement_timeout on the searches' own connections) and the caller gets"
        " DEADLINE_EXCEEDED, reason TIME_LIMIT_EXCEEDED: one search cannot hold a worker and"
        " a database backend for minutes. 0: no limit. Exports and mirror status are not"
        " limited.",
    )

    @property
    def export_stream_limit(self) -> int:
        return self.export_streams or max(1, self.grpc_workers // 2)

    def validate(self) -> None:
        super().validate()
        from puhui.data.quota import parse_limits

        if self.grpc_workers < 2:
            raise ConfigError(
                "configuration: PUHUI_GRPC_WORKERS must be at least 2 for the data service"
                " (one for export streams, one for every other call)"
            )
        if not 0 <= self.export_streams < self.grpc_workers:
            raise ConfigError(
                "configuration: PUHUI_DATA_EXPORT_STREAMS must be 0 or more and below"
                f" PUHUI_GRPC_WORKERS ({self.grpc_workers}), to leave workers for other calls"
            )
        if self.search_timeout_ms < 0:
            raise ConfigError("configuration: PUHUI_DATA_SEARCH_TIMEOUT_MS must be 0 or more")
        if self.exact_count_limit < 1:
            raise ConfigError("configuration: PUHUI_DATA_EXACT_COUNT_LIMIT must be at least 1")
        try:
            parse_limits(self.quota_limits)
        except ValueError as exc:
            raise ConfigError(f"configuration: PUHUI_DATA_QUOTAS is malformed: {exc}") from None

    @property
    def is_mirror(self) -> bool:
        return self.node_id != self.mirror_source_node

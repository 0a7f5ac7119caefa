"""Data service settings: the kit's ServiceConfig plus mirror and quota settings."""

from __future__ import annotations

import dataclasses

from puhui.kit.config import HUB_NODE_ID, ServiceConfig, setting


@dataclasses.dataclass(frozen=True)
class DataConfig(ServiceConfig):
    service: str = setting("PUHUI_SERVICE", "data", doc="Service name.")
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
    import_batch_size: int = setting(
        "PUHUI_DATA_IMPORT_BATCH_SIZE", 500, doc="Records per import transaction."
    )
    quota_enabled: bool = setting(
        "PUHUI_DATA_QUOTA_ENABLED", True, doc="Enforce per-tier request and export quotas."
    )
    max_query_length: int = setting(
        "PUHUI_DATA_MAX_QUERY_LENGTH", 200, doc="Longest accepted search text (characters)."
    )

    @property
    def is_mirror(self) -> bool:
        return self.node_id != self.mirror_source_node

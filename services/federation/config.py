"""Federation settings: the kit's ServiceConfig plus the trust anchor and national models."""

from __future__ import annotations

import dataclasses

from puhui.kit import trust
from puhui.kit.config import ConfigError, ServiceConfig, setting


@dataclasses.dataclass(frozen=True)
class FederationConfig(ServiceConfig):
    service: str = setting("PUHUI_SERVICE", "federation", doc="Service name.")
    anchor_key: str = setting(
        "PUHUI_FEDERATION_ANCHOR_KEY",
        "",
        doc="PEM (or @path to a PEM file) of the federation trust anchor's EC P-256 private "
        "key. Empty on an embedded hub only: a key is generated and kept in the database.",
        secret=True,
    )
    statement_validity_days: int = setting(
        "PUHUI_FEDERATION_STATEMENT_VALIDITY_DAYS",
        30,
        doc="Validity of a signed key-set statement; the hub re-signs after half of it.",
    )
    preset_join_codes: tuple[str, ...] = setting(
        "PUHUI_FEDERATION_PRESET_JOIN_CODES",
        (),
        doc="NODE:CODE pairs accepted as one-time join codes (local runs and tests).",
        example="440000:s3cret,320000:0th3r",
        secret=True,
    )
    keys_topic: str = setting(
        "PUHUI_TRUST_KEYS_TOPIC",
        trust.KEYS_TOPIC,
        doc="Compacted topic the hub publishes signed key sets to.",
    )
    consumer_group: str = setting(
        "PUHUI_FEDERATION_CONSUMER_GROUP",
        "puhui.000000.federation",
        doc="Prefix of the hub's consumer groups (a new prefix with an empty database rebuilds "
        "the national models from the start of every province's topics).",
    )
    national_models: bool = setting(
        "PUHUI_FEDERATION_NATIONAL_MODELS",
        True,
        doc="Build the national catalog and statistics from every province's events.",
    )
    hub_data_address: str = setting(
        "PUHUI_FEDERATION_HUB_DATA_ADDRESS",
        "",
        doc="host:port of the hub's data service: the reference for mirror completeness.",
        example="data-000000:50051",
    )
    status_call_timeout_seconds: float = setting(
        "PUHUI_FEDERATION_STATUS_CALL_TIMEOUT_SECONDS",
        2.0,
        doc="Timeout of the GetMirrorStatus calls behind GetFederationStatus.",
    )

    def validate(self) -> None:
        super().validate()
        if self.node_id != "000000":
            raise ConfigError(
                "configuration: the federation service runs at the hub (PUHUI_NODE_ID=000000)"
            )
        if self.anchor_key == "" and self.database_url:
            raise ConfigError(
                "configuration: PUHUI_FEDERATION_ANCHOR_KEY is required when "
                "PUHUI_DATABASE_URL is set"
            )
        for pair in self.preset_join_codes:
            node, _, code = pair.partition(":")
            if len(node) != 6 or not node.isdigit() or len(code) < 8:
                raise ConfigError(
                    "configuration: PUHUI_FEDERATION_PRESET_JOIN_CODES entries are NODE:CODE "
                    "with a code of 8+ characters"
                )

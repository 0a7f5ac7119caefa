"""Identity settings: the kit's ServiceConfig plus token lifetimes, password hashing,
encryption keys and sign-in throttling.

Password hashing is argon2id (RFC 9106). The defaults follow OWASP's Password Storage
Cheat Sheet second option: memory 19 MiB (19456 KiB), 2 iterations, parallelism 1, 16-byte
salt, 32-byte hash. Raise them with PUHUI_IDENTITY_ARGON2_*; existing hashes are upgraded on
the next successful sign-in (argon2 `check_needs_rehash`).

Keys: PUHUI_IDENTITY_ID_NUMBER_KEY encrypts resident ID numbers (AES-256-GCM) and keys their
lookup HMAC; PUHUI_IDENTITY_KEY_ENCRYPTION_KEY encrypts the node's private signing keys at
rest. Both are 32 random bytes, base64. They are required when the node runs against a
configured database; only the embedded default (SQLite under PUHUI_STATE, no
PUHUI_DATABASE_URL) falls back to the DEV_ keys below, which are public and must never
protect real data.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import logging

from puhui.kit.config import ConfigError, ServiceConfig, setting

logger = logging.getLogger(__name__)

# Public development keys: only used when the node runs embedded (no PUHUI_DATABASE_URL).
DEV_ID_NUMBER_KEY = base64.b64encode(b"puhui-DEV-ONLY-id-number-key-32b").decode()
DEV_KEY_ENCRYPTION_KEY = base64.b64encode(b"puhui-DEV-ONLY-signing-key-kek!!").decode()


def _decode_key(name: str, value: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"configuration: {name} is malformed: expected base64") from None
    if len(raw) != 32:
        raise ConfigError(f"configuration: {name} is malformed: expected 32 bytes, got {len(raw)}")
    return raw


@dataclasses.dataclass(frozen=True)
class IdentityConfig(ServiceConfig):
    service: str = setting("PUHUI_SERVICE", "identity", doc="Service name.")

    # -- tokens ---------------------------------------------------------------------------
    access_token_ttl_seconds: int = setting(
        "PUHUI_IDENTITY_ACCESS_TOKEN_TTL_SECONDS", 900, doc="Lifetime of access tokens (JWT)."
    )
    refresh_token_ttl_seconds: int = setting(
        "PUHUI_IDENTITY_REFRESH_TOKEN_TTL_SECONDS",
        30 * 24 * 3600,
        doc="Lifetime of a refresh-token family from sign-in (rotation does not extend it).",
    )
    service_token_ttl_seconds: int = setting(
        "PUHUI_IDENTITY_SERVICE_TOKEN_TTL_SECONDS", 300, doc="Lifetime of node service tokens."
    )
    token_leeway_seconds: int = setting(
        "PUHUI_IDENTITY_TOKEN_LEEWAY_SECONDS", 30, doc="Clock skew allowed on exp/nbf."
    )
    trusted_audiences: tuple[str, ...] = setting(
        "PUHUI_IDENTITY_AUDIENCES",
        ("puhui",),
        doc="Audiences a token may be requested for (comma-separated).",
        example="puhui,puhui-data",
    )
    # -- passwords -------------------------------------------------------------------------
    argon2_time_cost: int = setting(
        "PUHUI_IDENTITY_ARGON2_TIME_COST", 2, doc="argon2id iterations."
    )
    argon2_memory_kib: int = setting(
        "PUHUI_IDENTITY_ARGON2_MEMORY_KIB", 19456, doc="argon2id memory in KiB (19 MiB)."
    )
    argon2_parallelism: int = setting("PUHUI_IDENTITY_ARGON2_PARALLELISM", 1, doc="argon2id lanes.")
    # -- keys ------------------------------------------------------------------------------
    id_number_key: str = setting(
        "PUHUI_IDENTITY_ID_NUMBER_KEY",
        "",
        doc="Base64 32-byte key: AES-GCM encryption and lookup HMAC of resident ID numbers.",
        secret=True,
    )
    key_encryption_key: str = setting(
        "PUHUI_IDENTITY_KEY_ENCRYPTION_KEY",
        "",
        doc="Base64 32-byte key encrypting the node's private signing keys at rest (AES-GCM).",
        secret=True,
    )
    jwks_cache_seconds: float = setting(
        "PUHUI_IDENTITY_JWKS_CACHE_SECONDS", 10.0, doc="How long the node's own key set is cached."
    )
    # -- abuse protection -----------------------------------------------------------------
    throttle_free_failures: int = setting(
        "PUHUI_IDENTITY_THROTTLE_FREE_FAILURES",
        3,
        doc="Failed sign-ins per (account, address) before delays start.",
    )
    throttle_base_delay_seconds: float = setting(
        "PUHUI_IDENTITY_THROTTLE_BASE_DELAY_SECONDS", 1.0, doc="First delay; doubles per failure."
    )
    throttle_max_delay_seconds: float = setting(
        "PUHUI_IDENTITY_THROTTLE_MAX_DELAY_SECONDS", 60.0, doc="Longest delay between attempts."
    )
    throttle_lockout_failures: int = setting(
        "PUHUI_IDENTITY_THROTTLE_LOCKOUT_FAILURES",
        10,
        doc="Failures per (account, address) that lock that pair out temporarily.",
    )
    throttle_lockout_seconds: float = setting(
        "PUHUI_IDENTITY_THROTTLE_LOCKOUT_SECONDS", 900.0, doc="Temporary lockout duration."
    )
    throttle_address_ceiling: int = setting(
        "PUHUI_IDENTITY_THROTTLE_ADDRESS_CEILING",
        100,
        doc="Failed sign-ins from one address (any account) per window before it is blocked.",
    )
    throttle_window_seconds: float = setting(
        "PUHUI_IDENTITY_THROTTLE_WINDOW_SECONDS", 900.0, doc="Window of the failure counters."
    )

    def validate(self) -> None:
        super().validate()
        embedded = not self.database_url
        for name, value in (
            ("PUHUI_IDENTITY_ID_NUMBER_KEY", self.id_number_key),
            ("PUHUI_IDENTITY_KEY_ENCRYPTION_KEY", self.key_encryption_key),
        ):
            if value:
                _decode_key(name, value)
            elif not embedded:
                raise ConfigError(
                    f"configuration: {name} is required when PUHUI_DATABASE_URL is set "
                    "(32 random bytes, base64)"
                )
        if self.argon2_memory_kib < 8 * self.argon2_parallelism or self.argon2_time_cost < 1:
            raise ConfigError("configuration: PUHUI_IDENTITY_ARGON2_* parameters are too small")
        if not 60 <= self.access_token_ttl_seconds <= 3600:
            raise ConfigError(
                "configuration: PUHUI_IDENTITY_ACCESS_TOKEN_TTL_SECONDS must be 60..3600"
            )
        if self.throttle_lockout_failures <= self.throttle_free_failures:
            raise ConfigError(
                "configuration: PUHUI_IDENTITY_THROTTLE_LOCKOUT_FAILURES must exceed "
                "PUHUI_IDENTITY_THROTTLE_FREE_FAILURES"
            )

    def id_number_key_bytes(self) -> bytes:
        if self.id_number_key:
            return _decode_key("PUHUI_IDENTITY_ID_NUMBER_KEY", self.id_number_key)
        logger.warning("identity: using the public DEV id-number key (embedded node only)")
        return _decode_key("DEV_ID_NUMBER_KEY", DEV_ID_NUMBER_KEY)

    def key_encryption_key_bytes(self) -> bytes:
        if self.key_encryption_key:
            return _decode_key("PUHUI_IDENTITY_KEY_ENCRYPTION_KEY", self.key_encryption_key)
        logger.warning("identity: using the public DEV key-encryption key (embedded node only)")
        return _decode_key("DEV_KEY_ENCRYPTION_KEY", DEV_KEY_ENCRYPTION_KEY)

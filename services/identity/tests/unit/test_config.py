"""Identity configuration: keys are required outside the embedded default."""

from __future__ import annotations

import base64

import pytest

from puhui.identity.config import IdentityConfig
from puhui.kit.config import ConfigError, load

KEY = base64.b64encode(b"k" * 32).decode()


def test_embedded_node_falls_back_to_dev_keys():
    config = load(IdentityConfig, environ={})
    assert len(config.id_number_key_bytes()) == 32
    assert config.argon2_memory_kib == 19456
    assert config.argon2_time_cost == 2
    assert config.access_token_ttl_seconds == 900


def test_keys_required_with_a_configured_database():
    env = {
        "PUHUI_DATABASE_URL": "postgresql://x@db/identity",
        "PUHUI_IDENTITY_KEY_ENCRYPTION_KEY": KEY,
    }
    with pytest.raises(ConfigError, match="PUHUI_IDENTITY_ID_NUMBER_KEY is required"):
        load(IdentityConfig, environ=env)
    env["PUHUI_IDENTITY_ID_NUMBER_KEY"] = KEY
    assert load(IdentityConfig, environ=env).id_number_key_bytes() == b"k" * 32


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"short").decode()])
def test_malformed_key_names_the_variable(value):
    with pytest.raises(ConfigError, match="PUHUI_IDENTITY_ID_NUMBER_KEY"):
        load(IdentityConfig, environ={"PUHUI_IDENTITY_ID_NUMBER_KEY": value})


def test_audiences_and_ttl_are_parsed_and_checked():
    config = load(IdentityConfig, environ={"PUHUI_IDENTITY_AUDIENCES": "puhui, puhui-data"})
    assert config.trusted_audiences == ("puhui", "puhui-data")
    with pytest.raises(ConfigError, match="TTL"):
        load(IdentityConfig, environ={"PUHUI_IDENTITY_ACCESS_TOKEN_TTL_SECONDS": "86400"})

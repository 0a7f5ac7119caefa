"""Secrets reach a service as files (Compose `secrets:`, Kubernetes Secret volumes):
any setting NAME may be given as NAME_FILE."""

from __future__ import annotations

import pytest

from puhui.kit.config import ConfigError, ServiceConfig, load


def test_a_setting_is_read_from_its_file(tmp_path):
    secret = tmp_path / "database-url"
    secret.write_text("postgresql+psycopg://puhui:s3cret@db:5432/catalog\n")
    cfg = load(ServiceConfig, {"PUHUI_DATABASE_URL_FILE": str(secret)})
    assert cfg.database_url == "postgresql+psycopg://puhui:s3cret@db:5432/catalog"


def test_typed_settings_are_parsed_from_files_too(tmp_path):
    (tmp_path / "port").write_text("50051")
    assert load(ServiceConfig, {"PUHUI_GRPC_PORT_FILE": str(tmp_path / "port")}).grpc_port == 50051


def test_the_variable_itself_wins_over_its_file(tmp_path):
    (tmp_path / "level").write_text("DEBUG")
    env = {"PUHUI_LOG_LEVEL": "WARNING", "PUHUI_LOG_LEVEL_FILE": str(tmp_path / "level")}
    assert load(ServiceConfig, env).log_level == "WARNING"


def test_an_unreadable_file_stops_start_up_naming_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="PUHUI_REDIS_URL_FILE"):
        load(ServiceConfig, {"PUHUI_REDIS_URL_FILE": str(tmp_path / "missing")})

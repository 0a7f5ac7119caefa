import dataclasses

import pytest

from puhui.kit.config import ConfigError, ServiceConfig, describe, load, setting


def test_defaults_and_overrides():
    cfg = load(
        ServiceConfig, {"PUHUI_NODE_ID": "440000", "PUHUI_GRPC_WORKERS": "8"}, service="catalog"
    )
    assert cfg.node_id == "440000"
    assert cfg.grpc_workers == 8
    assert cfg.service == "catalog"
    assert cfg.effective_database_url().endswith("/440000/catalog.db")


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"PUHUI_GRPC_WORKERS": "many"}, "PUHUI_GRPC_WORKERS"),
        ({"PUHUI_NODE_ID": "44"}, "PUHUI_NODE_ID"),
        ({"PUHUI_MIGRATE_ON_START": "perhaps"}, "PUHUI_MIGRATE_ON_START"),
        ({"PUHUI_SHUTDOWN_GRACE_SECONDS": "30"}, "PUHUI_SHUTDOWN_GRACE_SECONDS"),
    ],
)
def test_malformed_value_stops_with_the_variable_named(environ, variable):
    with pytest.raises(ConfigError) as info:
        load(ServiceConfig, environ)
    assert variable in str(info.value)


def test_missing_required_setting_is_named():
    @dataclasses.dataclass(frozen=True)
    class Needs(ServiceConfig):
        key: str = setting("PUHUI_TEST_KEY", doc="A key.")

    with pytest.raises(ConfigError, match="PUHUI_TEST_KEY is required"):
        load(Needs, {})


def test_describe_lists_every_setting_with_docs():
    rows = describe(ServiceConfig)
    names = {r["env"] for r in rows}
    assert {"PUHUI_NODE_ID", "PUHUI_DATABASE_URL", "PUHUI_KAFKA_BOOTSTRAP"} <= names
    assert all(r["doc"] for r in rows)
    assert next(r for r in rows if r["env"] == "PUHUI_DATABASE_URL")["secret"] == "yes"

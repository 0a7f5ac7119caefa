"""The `puhui` client commands reach a node that requires mutual TLS: the TLS options (or their
environment variables) on every client command, a clear one-line usage error for a half-given
identity or a missing file, and no plaintext fallback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest

from puhui import cli
from puhui.catalog.v1 import catalog_pb2_grpc
from puhui.federation import clikit
from puhui.federation.tests.unit.test_cli import FakeCatalog
from puhui.kit import tls
from puhui.kit.testing import free_port

TLS_ENV = [env for env, _ in clikit.TLS_OPTIONS.values()]


@pytest.fixture
def secured(tmp_path: Path, monkeypatch: Any) -> Iterator[tuple[str, dict[str, Path]]]:
    """A catalog fake behind mutual TLS; the files an operator holds."""
    monkeypatch.setenv("PUHUI_STATE", str(tmp_path))
    for name in ("PUHUI_TOKEN", "PUHUI_NODE", *TLS_ENV):
        monkeypatch.delenv(name, raising=False)
    ca = tls.create_ca()
    server_id = tls.issue_node_certificate(ca, "440000", dns_names=["catalog.puhui.test"])
    operator = tls.issue_node_certificate(ca, "440000", dns_names=["operator.puhui.test"])
    ca_path = tmp_path / "ca.crt"
    ca_path.write_bytes(ca.cert_pem)
    server_cert, server_key = server_id.write(tmp_path, "server")
    cert, key = operator.write(tmp_path, "operator")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    catalog_pb2_grpc.add_CatalogServiceServicer_to_server(FakeCatalog(), server)
    address = f"127.0.0.1:{free_port()}"
    server.add_secure_port(address, tls.server_credentials(server_cert, server_key, ca_path))
    server.start()
    try:
        yield address, {"ca": ca_path, "cert": cert, "key": key}
    finally:
        server.stop(0)


def test_every_client_command_takes_the_tls_options() -> None:
    top = cli.parser()
    commands = [
        ["register"], ["signin", "--login", "x"], ["signout"], ["search"], ["match"],
        ["patents"], ["rate", "--rating-token", "t"], ["node", "join", "--node", "440000"],
        ["node", "federation"],
    ]  # fmt: skip
    for argv in commands:
        args = top.parse_args([*argv, "--tls-ca", "a", "--tls-cert", "b", "--tls-key", "c"])
        assert (args.tls_ca, args.tls_cert, args.tls_key) == ("a", "b", "c"), argv


def test_search_over_mutual_tls_with_options(secured: Any, capsys: Any) -> None:
    address, files = secured
    argv = ["search", "x", "--catalog", address, "--json", "--tls-server-name",
            "catalog.puhui.test", "--tls-ca", str(files["ca"]), "--tls-cert",
            str(files["cert"]), "--tls-key", str(files["key"])]  # fmt: skip
    assert cli.main(argv) == clikit.OK
    assert json.loads(capsys.readouterr().out)["institutions"]


def test_search_over_mutual_tls_from_the_environment(
    secured: Any, monkeypatch: Any, capsys: Any
) -> None:
    address, files = secured
    monkeypatch.setenv("PUHUI_CLI_TLS_CA_FILE", str(files["ca"]))
    monkeypatch.setenv("PUHUI_CLI_TLS_CERT_FILE", str(files["cert"]))
    monkeypatch.setenv("PUHUI_CLI_TLS_KEY_FILE", str(files["key"]))
    monkeypatch.setenv("PUHUI_CLI_TLS_SERVER_NAME", "catalog.puhui.test")
    assert cli.main(["search", "x", "--catalog", address]) == clikit.OK
    assert "440000-000001" in capsys.readouterr().out


def test_without_a_client_certificate_the_node_refuses(secured: Any, capsys: Any) -> None:
    address, files = secured
    argv = ["search", "x", "--catalog", address, "--tls-ca", str(files["ca"]),
            "--tls-server-name", "catalog.puhui.test"]  # fmt: skip
    assert cli.main(argv) == clikit.UNREACHABLE
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tls-cert", "CERT"], "needs both --tls-cert and --tls-key"),
        (["--tls-ca", "/nonexistent/ca.crt"], "--tls-ca: no such file /nonexistent/ca.crt"),
        (["--tls-cert", "CERT", "--tls-key", "KEY"], "TLS needs --tls-ca"),
    ],
)
def test_bad_tls_options_are_one_line_usage_errors(
    secured: Any, extra: list[str], message: str, capsys: Any
) -> None:
    address, files = secured
    argv = [a.replace("CERT", str(files["cert"])).replace("KEY", str(files["key"])) for a in extra]
    assert cli.main(["search", "x", "--catalog", address, *argv]) == clikit.USAGE
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1

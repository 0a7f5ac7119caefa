"""The `puhui` client commands as a user meets them: table-driven defaults (the ports `make
run` prints), `--json` output, one-line errors with reason and trace id, exit codes, the
session refreshed on its own, passwords never taken from the command line.

The services are in-process fakes of our own catalog and identity APIs on a free port; the
real services are exercised by tests/test_federation_banner.py."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from puhui import cli
from puhui.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from puhui.federation import client, clikit
from puhui.identity.v1 import identity_pb2, identity_pb2_grpc
from puhui.kit.testing import free_port

DEFAULTS = [  # argv, environment -> the address the command calls
    (["register", "--email", "a@b.cn"], {}, ("identity", "identity", "127.0.0.1:30061")),
    (["signin", "--login", "a@b.cn"], {}, ("identity", "identity", "127.0.0.1:30061")),
    (["search", "中心"], {}, ("catalog", "catalog", "127.0.0.1:30062")),
    (["match"], {}, ("catalog", "catalog", "127.0.0.1:30062")),
    (["match", "--region", "440300"], {}, ("catalog", "catalog", "127.0.0.1:30062")),
    (["match", "--region", "320100"], {}, ("catalog", "catalog", "127.0.0.1:30072")),
    (["search", "--region", "320500"], {}, ("catalog", "catalog", "127.0.0.1:30072")),
    (["search", "--region", "110000"], {}, ("catalog", "catalog", "127.0.0.1:30062")),
    (["rate", "--rating-token", "t"], {}, ("feedback", "feedback", "127.0.0.1:30064")),
    (
        ["rate", "--rating-token", "t"],
        {"PUHUI_NODE": "320000"},
        ("feedback", "feedback", "127.0.0.1:30074"),
    ),
    (
        ["search", "--node", "320000"],
        {"PUHUI_NODE": "440000"},
        ("catalog", "catalog", "127.0.0.1:30072"),
    ),
    (["search", "--catalog", "10.0.0.1:443"], {}, ("catalog", "catalog", "10.0.0.1:443")),
]


@pytest.mark.parametrize(("argv", "env", "expected"), DEFAULTS)
def test_client_commands_default_to_the_ports_make_run_prints(
    argv: list[str], env: dict[str, str], expected: tuple[str, str, str], monkeypatch: Any
) -> None:
    monkeypatch.delenv("PUHUI_NODE", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = cli.parser().parse_args(argv)
    service, flag, address = expected
    assert client._addr(args, service, flag) == address


def test_status_probes_the_ports_of_make_run() -> None:
    assert cli.ports("440000", "identity") == (30061, 30161)
    assert cli.ports("320000", "feedback") == (30074, 30174)


@pytest.mark.parametrize("command", ["register", "signin", "search", "match", "rate", "status"])
def test_help_shows_defaults_and_exit_codes(command: str, capsys: Any) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main([command, "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--json" in text
    assert "default" in text
    if command != "status":
        assert "exit codes:" in text


def test_version(capsys: Any) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == "puhui 0.1.0"


def test_passwords_are_never_arguments(capsys: Any) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["signin", "--login", "a@b.cn", "--password", "secret"])
    assert done.value.code == clikit.USAGE
    assert "passwords are not taken as arguments" in capsys.readouterr().err


# -- against fakes of our own services ----------------------------------------------------------
def _status(code: grpc.StatusCode, message: str, reason: str, field: str = "") -> Any:
    details = []
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain="puhui"))
    details.append(info)
    if field:
        bad = any_pb2.Any()
        bad.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=field, description="bad")
                ]
            )
        )
        details.append(bad)
    return rpc_status.to_status(
        status_pb2.Status(code=getattr(code_pb2, code.name), message=message, details=details)
    )


class FakeCatalog(catalog_pb2_grpc.CatalogServiceServicer):
    """Answers a search for a status code's name with that status; anything else with one
    institution. Records the metadata of every call."""

    def __init__(self) -> None:
        self.metadata: list[dict[str, str]] = []

    def SearchInstitutions(self, request: Any, context: Any) -> Any:
        seen = dict(context.invocation_metadata())
        self.metadata.append(seen)
        if request.query in grpc.StatusCode.__members__ and request.query != "OK":
            code = grpc.StatusCode[request.query]
            context.abort_with_status(_status(code, "it went\nwrong", f"R_{code.name}", "query"))
        if request.query == "signed-in-only" and seen.get("authorization") != "Bearer fresh":
            context.abort_with_status(
                _status(grpc.StatusCode.UNAUTHENTICATED, "token expired", "TOKEN_EXPIRED")
            )
        return catalog_pb2.SearchInstitutionsResponse(
            institutions=[catalog_pb2.Institution(institution_id="440000-000001", name="中心")],
            total_size=1,
        )


class FakeIdentity(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self) -> None:
        self.refreshed = 0

    def RefreshTokens(self, request: Any, context: Any) -> Any:
        if request.refresh_token != "r1":
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "refresh token revoked")
        self.refreshed += 1
        return identity_pb2.SignInResponse(
            access_token="fresh", refresh_token="r2", expires_in_seconds=900
        )

    def SignIn(self, request: Any, context: Any) -> Any:
        if request.password != "a long secret 1":
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "wrong login or password")
        return identity_pb2.SignInResponse(
            access_token="a1",
            refresh_token="r1",
            expires_in_seconds=900,
            person=identity_pb2.Person(person_id="p-1", home_node="440000"),
        )


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: Any) -> Iterator[tuple[str, FakeCatalog, FakeIdentity]]:
    monkeypatch.setenv("PUHUI_STATE", str(tmp_path))
    for name in ("PUHUI_TOKEN", "PUHUI_PASSWORD", "PUHUI_NODE", "PUHUI_LANG"):
        monkeypatch.delenv(name, raising=False)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    catalog, identity = FakeCatalog(), FakeIdentity()
    catalog_pb2_grpc.add_CatalogServiceServicer_to_server(catalog, server)
    identity_pb2_grpc.add_IdentityServiceServicer_to_server(identity, server)
    address = f"127.0.0.1:{free_port()}"
    server.add_insecure_port(address)
    server.start()
    try:
        yield address, catalog, identity
    finally:
        server.stop(0)


EXIT_CODES = [  # what the service answers -> exit code, reason in the line
    ("OK", clikit.OK),
    ("NOT_FOUND", clikit.FAILED),
    ("FAILED_PRECONDITION", clikit.FAILED),
    ("INTERNAL", clikit.FAILED),
    ("INVALID_ARGUMENT", clikit.USAGE),
    ("UNAUTHENTICATED", clikit.UNAUTHORISED),
    ("PERMISSION_DENIED", clikit.UNAUTHORISED),
    ("UNAVAILABLE", clikit.UNREACHABLE),
]


@pytest.mark.parametrize(("answer", "exit_code"), EXIT_CODES)
@pytest.mark.parametrize("as_json", [False, True])
def test_exit_codes_and_one_line_errors(
    fakes: Any, answer: str, exit_code: int, as_json: bool, capsys: Any
) -> None:
    address, catalog, _ = fakes
    argv = ["search", answer, "--catalog", address] + (["--json"] if as_json else [])
    assert cli.main(argv) == exit_code
    out, err = capsys.readouterr()
    trace_id = catalog.metadata[-1]["traceparent"].split("-")[1]
    if exit_code == clikit.OK:
        assert err == ""
        if as_json:
            assert json.loads(out)["institutions"][0]["institution_id"] == "440000-000001"
        else:
            assert "1 institutions" in out
            assert "440000-000001" in out
        return
    assert out == ""
    assert err.count("\n") == 1
    assert "Traceback" not in err
    if as_json:
        error = json.loads(err)["error"]
        assert error["exit_code"] == exit_code
        assert error["code"] == answer
        assert error["trace_id"] == trace_id
        if answer != "UNAVAILABLE":
            assert error["reason"] == f"R_{answer}"
            assert error["fields"] == {"query": "bad"}
    else:
        assert trace_id in err
        if answer != "UNAVAILABLE":
            assert f"{answer} (R_{answer}): it went wrong [query: bad]" in err


def test_nothing_listening_is_exit_4_with_a_hint(tmp_path: Path, monkeypatch: Any, capsys: Any):
    monkeypatch.setenv("PUHUI_STATE", str(tmp_path))
    assert cli.main(["search", "x", "--catalog", f"127.0.0.1:{free_port()}"]) == 4
    assert "is it running? (`make run`" in capsys.readouterr().err


def test_signin_reads_the_password_from_a_file_or_env_and_saves_the_session(
    fakes: Any, tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    address, _, _ = fakes
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert cli.main(["signin", "--login", "a@b.cn", "--identity", address]) == clikit.USAGE
    assert "PUHUI_PASSWORD" in capsys.readouterr().err
    secret = tmp_path / "pw"
    secret.write_text("a long secret 1\n")
    argv = ["signin", "--login", "a@b.cn", "--identity", address, "--json"]
    assert cli.main([*argv, "--password-file", str(secret)]) == 0
    assert json.loads(capsys.readouterr().out)["person_id"] == "p-1"
    monkeypatch.setenv("PUHUI_PASSWORD", "wrong")
    assert cli.main(argv) == clikit.UNAUTHORISED
    assert "wrong login or password" in capsys.readouterr().err
    saved = clikit.load_session()
    assert saved is not None
    assert saved.refresh_token == "r1"
    assert saved.identity == address
    assert oct(clikit.session_file().stat().st_mode & 0o777) == "0o600"


def test_an_expiring_session_is_refreshed_before_the_call(fakes: Any, capsys: Any) -> None:
    address, catalog, identity = fakes
    clikit.save_session(clikit.Session("stale", "r1", time.time() + 5, address, "p-1"))
    assert cli.main(["search", "signed-in-only", "--catalog", address]) == 0
    assert identity.refreshed == 1
    assert catalog.metadata[-1]["authorization"] == "Bearer fresh"
    saved = clikit.load_session()
    assert saved is not None
    assert saved.refresh_token == "r2"
    assert cli.main(["search", "signed-in-only", "--catalog", address]) == 0
    assert identity.refreshed == 1  # still fresh: no second refresh


def test_a_rejected_token_is_refreshed_once_and_the_call_retried(fakes: Any) -> None:
    address, catalog, identity = fakes
    clikit.save_session(clikit.Session("revoked-early", "r1", time.time() + 600, address))
    assert cli.main(["search", "signed-in-only", "--catalog", address]) == 0
    assert identity.refreshed == 1
    assert [m.get("authorization") for m in catalog.metadata] == [
        "Bearer revoked-early",
        "Bearer fresh",
    ]


def test_a_dead_session_does_not_break_anonymous_search(fakes: Any, capsys: Any) -> None:
    address, catalog, _ = fakes
    clikit.save_session(clikit.Session("old", "revoked", time.time() - 3600, address))
    assert cli.main(["search", "中心", "--catalog", address]) == 0
    assert "authorization" not in catalog.metadata[-1]
    assert "calling anonymously" in capsys.readouterr().err
    assert clikit.load_session() is None


def test_the_callers_language_goes_with_every_call(fakes: Any, monkeypatch: Any) -> None:
    address, catalog, _ = fakes
    cli.main(["search", "x", "--catalog", address])
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    cli.main(["search", "x", "--catalog", address])
    assert [m["accept-language"] for m in catalog.metadata] == ["zh-CN", "en"]

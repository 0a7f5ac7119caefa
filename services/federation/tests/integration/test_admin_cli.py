"""`puhui node join-code|remove|list|anchor` against a real hub federation service: the
admin actions are RPCs authorised by role (a national admin's token from `PUHUI_TOKEN`), never
writes into the registry's database; refusals are one-line errors with their exit code."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from puhui import cli
from puhui.federation import clikit
from puhui.federation.server import build
from puhui.kit import tokens
from puhui.kit.testing import running
from puhui.kit.trust import TrustAnchor

pytestmark = pytest.mark.integration
HUB = "000000"


class Minter:
    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        key_sets = tokens.KeySets()
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid="k-hub", alg="ES256", use="sig")
        key_sets.put(HUB, {"keys": [jwk]})
        self.verifier = tokens.JwtVerifier(key_sets, audience="puhui")

    def token(self, *roles: str) -> str:
        now = int(time.time())
        claims = {
            "iss": HUB, "sub": f"{HUB}:{uuid.uuid4().hex[:12]}", "aud": "puhui", "iat": now,
            "nbf": now - 5, "exp": now + 600, "jti": uuid.uuid4().hex, "roles": list(roles),
            "acr": tokens.ACR_BY_LEVEL[tokens.ASSURANCE_SUBSTANTIAL],
        }  # fmt: skip
        headers = {"typ": tokens.TOKEN_TYPE, "kid": "k-hub"}
        return jwt.encode(claims, self.key, algorithm="ES256", headers=headers)


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: Any) -> Iterator[tuple[str, Minter]]:
    monkeypatch.setenv("PUHUI_STATE", str(tmp_path / "cli"))
    for name in ("PUHUI_TOKEN", "PUHUI_NODE", "PUHUI_CLI_TLS_CA_FILE"):
        monkeypatch.delenv(name, raising=False)
    minter = Minter()
    app = build(
        verifier=minter.verifier,
        node_id=HUB,
        grpc_port=0,
        metrics_port=0,
        kafka_bootstrap="",
        state_dir=tmp_path,
        anchor_key=TrustAnchor.generate().to_pem().decode(),
        national_models=False,
    )
    with running(app) as host:
        yield host.address, minter


def _cli_err(capsys: Any) -> tuple[str, str]:
    """The command's stdout and its own stderr: the in-process hub's JSON log lines (its
    access log, once logging is configured in this process) share the captured stderr."""
    out, err = capsys.readouterr()
    mine = [line for line in err.splitlines(keepends=True) if not line.startswith('{"time"')]
    return out, "".join(mine)


def _json(capsys: Any) -> Any:
    out, err = _cli_err(capsys)
    assert err == ""
    return json.loads(out)


def test_admin_actions_are_rpcs_authorised_by_role(hub: Any, monkeypatch: Any, capsys: Any):
    address, minter = hub
    # Anonymous: refused by the service's policy, one line, exit 3.
    assert cli.main(["node", "join-code", "440000", "--hub", address]) == clikit.UNAUTHORISED
    assert _cli_err(capsys)[1].count("\n") == 1
    # A province admin is not a national admin.
    monkeypatch.setenv("PUHUI_TOKEN", minter.token(f"{tokens.ROLE_PROVINCE_ADMIN}:440000"))
    assert cli.main(["node", "remove", "440000", "--hub", address]) == clikit.UNAUTHORISED
    assert "PERMISSION_DENIED" in _cli_err(capsys)[1]
    # The national admin issues a join code ...
    monkeypatch.setenv("PUHUI_TOKEN", minter.token(tokens.ROLE_NATIONAL_ADMIN))
    assert cli.main(["node", "join-code", "440000", "--hub", address, "--json"]) == clikit.OK
    issued = _json(capsys)
    assert issued["node_id"] == "440000"
    assert issued["join_code"]
    # ... the anchor and the node list are public.
    monkeypatch.delenv("PUHUI_TOKEN")
    assert cli.main(["node", "anchor", "--hub", address, "--json"]) == clikit.OK
    assert json.loads(_json(capsys)["jwks_json"])["keys"]
    assert cli.main(["node", "list", "--hub", address, "--json", "--show-removed"]) == clikit.OK
    assert "nodes" in _json(capsys)


def test_removing_an_unknown_node_is_one_line(hub: Any, monkeypatch: Any, capsys: Any):
    address, minter = hub
    monkeypatch.setenv("PUHUI_TOKEN", minter.token(tokens.ROLE_NATIONAL_ADMIN))
    assert cli.main(["node", "remove", "990000", "--hub", address]) == clikit.FAILED
    err = _cli_err(capsys)[1]
    assert err.count("\n") == 1
    assert "Traceback" not in err

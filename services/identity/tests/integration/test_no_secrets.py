"""No password, token, secret or raw ID number in any log line, event or stored column.

A full flow (register with an ID number, failed and successful sign-in, GetMe, refresh,
refresh-token replay, sign-out, a service token) runs with every puhui logger at DEBUG
through the kit's JSON formatter; then the captured lines, the flow's Kafka events and
the database rows are searched for each secret.
"""

from __future__ import annotations

import io
import logging

import grpc
import pytest
from sqlalchemy import select

from puhui.identity.adapters.db import persons, refresh_tokens, service_accounts, signing_keys
from puhui.identity.cli import _parser, run_command
from puhui.identity.tests.integration.support import (
    KEK,
    NODE,
    PASSWORD,
    register,
    sign_in,
    unique_email,
)
from puhui.identity.v1 import identity_pb2
from puhui.kit.logs import JsonFormatter
from puhui.kit.testing import bearer, read_events

pytestmark = pytest.mark.integration

ID_NUMBER = "11010519491231002X"
TOPIC = f"puhui.{NODE}.identity.events"


@pytest.fixture
def captured_logs():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(node=NODE, service="identity"))
    root = logging.getLogger()
    puhui = logging.getLogger("puhui")
    old_level = puhui.level
    root.addHandler(handler)
    puhui.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        puhui.setLevel(old_level)


def test_flow_leaks_no_secret(identity, settings, capsys, captured_logs, kafka_bootstrap):
    app, stub = identity
    email = unique_email()
    person = register(stub, email=email, id_number=ID_NUMBER)
    with pytest.raises(grpc.RpcError):
        sign_in(stub, email, "Wrong-Password-1")
    with pytest.raises(grpc.RpcError):
        sign_in(stub, unique_email(), PASSWORD)
    first = sign_in(stub, email)
    stub.GetMe(identity_pb2.GetMeRequest(), metadata=bearer(first.access_token), timeout=10)
    second = stub.RefreshTokens(
        identity_pb2.RefreshTokensRequest(refresh_token=first.refresh_token), timeout=10
    )
    with pytest.raises(grpc.RpcError):  # replay: logged as a warning, family revoked
        stub.RefreshTokens(
            identity_pb2.RefreshTokensRequest(refresh_token=first.refresh_token), timeout=10
        )
    third = sign_in(stub, email)
    stub.SignOut(
        identity_pb2.SignOutRequest(refresh_token=third.refresh_token),
        metadata=bearer(third.access_token),
        timeout=10,
    )
    assert (
        run_command(_parser().parse_args(["service-accounts", "create", "leak-check"]), **settings)
        == 0
    )
    client_secret = capsys.readouterr().out.split("client_secret=", 1)[1].split()[0]
    service = stub.IssueServiceToken(
        identity_pb2.IssueServiceTokenRequest(client_id="leak-check", client_secret=client_secret),
        timeout=10,
    )

    secrets = {
        "password": PASSWORD,
        "raw ID number": ID_NUMBER,
        "ID number without check digit": ID_NUMBER[:17],
        "client secret": client_secret,
        "key-encryption key": KEK,
    }
    for n, token in enumerate([first, second, third, service]):
        secrets[f"access token {n}"] = token.access_token
        secrets[f"access token {n} signature"] = token.access_token.rsplit(".", 1)[1]
        if token.refresh_token:
            secrets[f"refresh token {n}"] = token.refresh_token

    events = read_events(
        kafka_bootstrap,
        TOPIC,
        lambda e: e.subject in (f"person/{person.person_id}", "sign-in/unknown-account"),
        count=6,  # registered, 1 bad + 3 good sign-ins, 1 unknown account (at least)
    )
    assert len(events) >= 6
    logs = captured_logs.getvalue()
    assert "refresh token reuse detected" in logs  # the capture works
    with app.db.transaction() as s:
        rows = [
            repr(tuple(r))
            for table in (persons, refresh_tokens, service_accounts, signing_keys)
            for r in s.execute(select(table))
        ]
    stored = "\n".join(rows)
    assert person.person_id in stored

    for what, value in secrets.items():
        assert value not in logs, f"{what} in a log line"
        for e in events:
            assert value.encode() not in e.SerializeToString(), f"{what} in event {e.type}"
        assert value not in stored, f"{what} stored in clear"
    assert "PRIVATE KEY" not in stored

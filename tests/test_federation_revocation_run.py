"""Revocation in the embedded federation of `puhui run` / `make run` (SQLite, no Redis, each
node one process): a sign-out at 440000 is refused by catalog, data and feedback at 440000
and 320000 within 5 s (issue 16, ADR 0014)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from puhui.federation.local import NODES, port, services_of
from puhui.identity.v1 import identity_pb2, identity_pb2_grpc
from tests.revocation_checks import register_and_sign_in, seconds_until_refused, wait_accepted

pytestmark = pytest.mark.integration


def busy(p: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", p)) == 0


def test_sign_out_in_the_embedded_federation_is_refused_everywhere(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    taken = [port(n, s) for n in NODES for s in services_of(n) if busy(port(n, s))]
    if taken:
        pytest.fail(
            f"ports of the local federation are busy ({taken[:3]}): stop `make run` first",
            pytrace=False,
        )
    env = {**os.environ, "PUHUI_STATE": str(tmp_path), "PUHUI_KAFKA_BOOTSTRAP": kafka_bootstrap}
    for name in ("PUHUI_DATABASE_URL", "PUHUI_REDIS_URL"):
        env.pop(name, None)
    out = (tmp_path / "run.out").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "puhui.cli", "run"], env=env, stdout=out, stderr=subprocess.STDOUT
    )
    channels: list[grpc.Channel] = []
    try:
        deadline = time.monotonic() + 240
        text = ""
        while time.monotonic() < deadline and proc.poll() is None:
            text = (tmp_path / "run.out").read_text()
            if "Ctrl-C stops everything." in text:
                break
            time.sleep(0.5)
        assert "Ctrl-C stops everything." in text, text[-2000:]
        assert "[joined]" in text

        def channel(node: str, service: str) -> grpc.Channel:
            channels.append(grpc.insecure_channel(f"127.0.0.1:{port(node, service)}"))
            return channels[-1]

        identity = channel("440000", "identity")
        targets = {
            f"{s}@{n}": channel(n, s)
            for n in ("440000", "320000")
            for s in ("catalog", "data", "feedback")
        }
        _, session = register_and_sign_in(identity)
        wait_accepted(targets, session.access_token, timeout=60)
        identity_pb2_grpc.IdentityServiceStub(identity).SignOut(
            identity_pb2.SignOutRequest(refresh_token=session.refresh_token),
            metadata=[("authorization", f"Bearer {session.access_token}")],
            timeout=15,
        )
        took = seconds_until_refused(targets, session.access_token, time.monotonic())
        print(f"embedded: sign-out refused everywhere after {max(took.values()):.2f}s")
    finally:
        for c in channels:
            c.close()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()

"""`puhui status` against a real service process (`python -m puhui.catalog`): health and
version from the running service, the others reported down; the process logs JSON lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from puhui import cli
from puhui.kit.testing import free_port, infra

pytestmark = [pytest.mark.integration, pytest.mark.slow]
NODE = "440000"


def test_status_summarises_a_running_node_and_its_process_logs_json(tmp_path: Path, capsys):
    grpc_port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "PUHUI_NODE_ID": NODE,
        "PUHUI_GRPC_PORT": str(grpc_port),
        "PUHUI_METRICS_PORT": str(metrics_port),
        "PUHUI_STATE": str(tmp_path),
        "PUHUI_KAFKA_BOOTSTRAP": infra("PUHUI_KAFKA_BOOTSTRAP"),
    }
    for name in ("PUHUI_DATABASE_URL", "PUHUI_REDIS_URL", "PUHUI_OTLP_ENDPOINT"):
        env.pop(name, None)
    stderr = (tmp_path / "catalog.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "puhui.catalog"], env=env, stdout=subprocess.DEVNULL, stderr=stderr
    )
    targets = [f"catalog=127.0.0.1:{grpc_port},127.0.0.1:{metrics_port}"]
    for service in ("identity", "data", "feedback"):  # nothing listens there
        targets.append(f"{service}=127.0.0.1:{free_port()},127.0.0.1:{free_port()}")
    argv = ["status", "--node", NODE, "--json"] + [f"--target={t}" for t in targets]
    try:
        deadline = time.monotonic() + 60
        while True:
            capsys.readouterr()
            cli.main(argv)
            report = json.loads(capsys.readouterr().out)
            catalog = report["services"]["catalog"]
            if catalog["ok"] and catalog["outbox_backlog"] is not None:
                break
            assert proc.poll() is None, (tmp_path / "catalog.log").read_text()[-2000:]
            assert time.monotonic() < deadline, report
            time.sleep(0.5)
        assert catalog["health"] == "SERVING"
        assert catalog["version"] == "0.1.0"
        assert catalog["dependencies"]["database"] is True
        assert catalog["outbox_backlog"] == 0
        assert report["ok"] is False
        for service in ("identity", "data", "feedback"):
            assert report["services"][service]["health"].startswith("DOWN")
            assert not report["services"][service]["ok"]
        assert cli.main(argv) == 1  # not every service is up: exit 1
        capsys.readouterr()
        text_argv = [a for a in argv if a != "--json"]
        cli.main(text_argv)
        text = capsys.readouterr().out
        assert "catalog   SERVING" in text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        stderr.close()
    lines = [line for line in (tmp_path / "catalog.log").read_text().splitlines() if line.strip()]
    assert lines
    for line in lines:
        record = json.loads(line)  # every line of the process is one JSON object
        assert record["node"] == NODE
        assert record["service"] == "catalog"
        assert {"time", "level", "logger", "message"} <= set(record)

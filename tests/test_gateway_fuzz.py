"""An API fuzz of a node's OpenAPI document with schemathesis: at least 100 generated
requests per operation (examples, coverage, fuzzing and stateful phases), and no answer
may be a 5xx or differ from the document's schema for its status code."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway_node import Node, node_with_gateway

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]


@pytest.fixture
def node(kafka_bootstrap: str, postgres_admin_url: str, tmp_path: Path) -> Iterator[Node]:
    with node_with_gateway(kafka_bootstrap, postgres_admin_url, tmp_path) as n:
        yield n


def test_no_5xx_and_every_answer_matches_the_openapi_document(node: Node, tmp_path: Path) -> None:
    schemathesis = Path(sys.executable).parent / "schemathesis"
    report = tmp_path / "schemathesis.json"
    result = subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{node.url}/openapi.yaml",
            "--url",
            node.url,
            "--max-examples",
            "100",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            # The data administrator's test token: the fuzz reaches past authorisation.
            "--header",
            "Authorization: Bearer admin-token",
            "--workers",
            "2",
            "--seed",
            "20261207",
            "--report",
            "ndjson",
            "--report-ndjson-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=1700,
        check=False,
    )
    summary = result.stdout[-6000:]
    assert result.returncode == 0, summary
    assert "Server error" not in summary
    assert "Response violates schema" not in summary
    assert "Tested: 65" in summary or "65/65" in summary, summary

"""One hub's four services (real PostgreSQL and Kafka; test tokens outside identity) behind a
`puhui-gateway`, for the gateway's tests and its API fuzz."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from puhui.data.tests.support import FixedVerifier
from puhui.federation.testing import CHEAP_ARGON2, DEV_KEY
from puhui.kit import gateway
from puhui.kit.testing import free_port, running, temporary_database

ORIGIN = "https://portal.example.cn"


@dataclass
class Node:
    url: str
    grpc: dict[str, str]  # app name → host:port


@contextlib.contextmanager
def node_with_gateway(kafka_bootstrap: str, postgres_admin_url: str, tmp: Path) -> Iterator[Node]:
    """identity, catalog, data and feedback of the hub (its data service owns the data sets a
    province mirrors), test tokens outside identity, behind one gateway allowing ORIGIN."""
    with contextlib.ExitStack() as databases, contextlib.ExitStack() as apps:
        addresses: dict[str, str] = {}
        for name in ("identity", "catalog", "data", "feedback"):
            url = databases.enter_context(temporary_database(postgres_admin_url, f"gw{name}"))
            settings: dict[str, Any] = {
                "node_id": "000000",
                "database_url": url,
                "kafka_bootstrap": kafka_bootstrap,
                "grpc_port": 0,
                "metrics_port": 0,
            }
            module = importlib.import_module(f"puhui.{name}.server")
            if name == "identity":
                app = module.build(
                    id_number_key=DEV_KEY,
                    key_encryption_key=DEV_KEY,
                    throttle_address_ceiling=10**9,
                    **CHEAP_ARGON2,
                    **settings,
                )
            else:
                app = module.build(verifier=FixedVerifier(), **settings)
            addresses[name] = apps.enter_context(running(app)).address
        argv = gateway.command(
            f"127.0.0.1:{free_port()}",
            gateway.upstreams(addresses),
            cors_origins=[ORIGIN],
            portal=gateway.ROOT / "portal",
        )
        served = apps.enter_context(gateway.serving(argv, log=tmp / "gateway.log"))
        yield Node(served.url, addresses)

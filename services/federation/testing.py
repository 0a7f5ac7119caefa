"""In-process federations for tests and benchmarks: a hub and provincial nodes, each service a
real app behind a real gRPC server (`puhui.kit.testing.running`), all on one Kafka.

Kafka topics are shared between runs, so a hub made here starts its consumer groups at the
current end of every province topic (`start_groups_at_end`) and uses its own keys topic:
it sees only what the test produces.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc

from puhui.federation.groups import start_groups_at_end
from puhui.kit import kafka, trust
from puhui.kit.config import HUB_NODE_ID
from puhui.kit.server import ServiceApp, ServiceHost
from puhui.kit.testing import free_port, running

DEV_KEY = base64.b64encode(b"puhui-test-only-key-32-bytes-!!!").decode()
CHEAP_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 64, "argon2_parallelism": 1}


def unique_suffix() -> str:
    return secrets.token_hex(4)


class Bearer:
    """A stub wrapper that sends `authorization: Bearer <token>` (or nothing) on every call."""

    def __init__(self, stub: Any, token: str | None = None, timeout: float = 15.0) -> None:
        self._stub = stub
        self._token = token
        self._timeout = timeout

    def with_token(self, token: str | None) -> Bearer:
        return Bearer(self._stub, token, self._timeout)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._stub, name)

        def call(request: Any, **kw: Any) -> Any:
            kw.setdefault("timeout", self._timeout)
            if self._token:
                kw["metadata"] = [("authorization", f"Bearer {self._token}")]
            return method(request, **kw)

        return call


@dataclass
class Running:
    app: ServiceApp
    host: ServiceHost
    channel: grpc.Channel

    @property
    def address(self) -> str:
        return self.host.address


@dataclass
class Node:
    """One node's running services."""

    node_id: str
    services: dict[str, Running] = field(default_factory=dict)
    verifier: trust.FederatedVerifier | None = None

    def channel(self, service: str) -> grpc.Channel:
        return self.services[service].channel

    def address(self, service: str) -> str:
        return self.services[service].address

    def app(self, service: str) -> Any:
        return self.services[service].app


class Federation:
    """Builds hub and nodes inside an ExitStack; everything stops when the stack closes."""

    def __init__(
        self,
        stack: contextlib.ExitStack,
        *,
        bootstrap: str,
        database: Callable[[str], str],
        redis_url: str = "",
    ) -> None:
        self.stack = stack
        self.bootstrap = bootstrap
        self.database = database
        self.redis_url = redis_url
        self.suffix = unique_suffix()
        self.keys_topic = f"{trust.KEYS_TOPIC}.t{self.suffix}"
        self.group = f"test.federation.{self.suffix}"
        self.hub: Any = None  # FederationApp
        self.hub_host: ServiceHost | None = None
        self.hub_channel: grpc.Channel | None = None
        self.join_codes: dict[str, str] = {}

    # -- the hub ---------------------------------------------------------------------------
    def start_hub(self, *, national_models: bool = True, **overrides: Any) -> Any:
        from puhui.federation.server import build
        from puhui.kit.trust import TrustAnchor

        for service in ("identity", "catalog", "feedback"):
            start_groups_at_end(
                self.bootstrap,
                f"{self.group}.{service if service != 'identity' else 'keys'}",
                kafka.topic_pattern(service),
            )
        for node in ("440000", "320000", "110000", "510000"):
            self.join_codes[node] = f"join-{node}-{self.suffix}"
        settings: dict[str, Any] = {
            "node_id": HUB_NODE_ID,
            "database_url": self.database("hub"),
            "kafka_bootstrap": self.bootstrap,
            "grpc_port": 0,
            "metrics_port": 0,
            "anchor_key": TrustAnchor.generate().to_pem().decode(),
            "keys_topic": self.keys_topic,
            "consumer_group": self.group,
            "national_models": national_models,
            "preset_join_codes": tuple(f"{n}:{c}" for n, c in self.join_codes.items()),
        }
        settings.update(overrides)
        verifier = self.verifier(HUB_NODE_ID)
        app = build(verifier=verifier, **settings)
        self.hub_host = self.stack.enter_context(running(app))
        self.hub_channel = self.stack.enter_context(grpc.insecure_channel(self.hub_host.address))
        self.hub = app
        return app

    @property
    def anchor_jwks(self) -> dict[str, Any]:
        return dict(self.hub.anchor.public_jwks())

    def federation_stub(self, token: str | None = None) -> Bearer:
        from puhui.federation.v1 import federation_pb2_grpc

        return Bearer(federation_pb2_grpc.FederationServiceStub(self.hub_channel), token)

    # -- verifiers and nodes -----------------------------------------------------------------
    def verifier(self, node_id: str, bootstrap: str | None = None) -> trust.FederatedVerifier:
        """A started federated verifier following this federation's keys topic (the hub's
        anchor must exist: call after start_hub, or for the hub itself, lazily)."""
        holder: dict[str, Any] = {}

        if self.hub is None:
            # The hub's own verifier: built once the app (and so the anchor) exists.
            return _LazyHubVerifier(self, holder)  # type: ignore[return-value]
        verifier = trust.federated_verifier(
            node_id=node_id,
            bootstrap=bootstrap or self.bootstrap,
            anchor_jwks=self.anchor_jwks,
            topic=self.keys_topic,
        ).start()
        self.stack.callback(verifier.stop)
        return verifier

    def start_service(self, node: Node, service: str, **overrides: Any) -> Running:
        import importlib

        module = importlib.import_module(f"puhui.{service}.server")
        settings: dict[str, Any] = {
            "node_id": node.node_id,
            "database_url": self.database(f"{service}{node.node_id[:2]}"),
            "kafka_bootstrap": self.bootstrap,
            "grpc_port": 0,
            "metrics_port": 0,
        }
        if service == "identity":
            settings.update(
                id_number_key=DEV_KEY,
                key_encryption_key=DEV_KEY,
                throttle_address_ceiling=10**9,
                jwks_cache_seconds=0.2,
                **CHEAP_ARGON2,
            )
            if self.redis_url:
                settings["redis_url"] = self.redis_url
        settings.update(overrides)
        if service == "identity":
            app = module.build(**settings)
        else:
            if node.verifier is None:
                node.verifier = self.verifier(
                    node.node_id, bootstrap=overrides.get("kafka_bootstrap")
                )
            app = module.build(verifier=node.verifier, **settings)
        host = self.stack.enter_context(running(app))
        channel = self.stack.enter_context(grpc.insecure_channel(host.address))
        node.services[service] = Running(app, host, channel)
        return node.services[service]

    def start_node(self, node_id: str, services: tuple[str, ...], **overrides: Any) -> Node:
        node = Node(node_id)
        for service in services:
            self.start_service(node, service, **overrides.get(service, {}))
        return node

    def join(self, node: Node, **kw: Any) -> Any:
        """JoinNode at the hub with the node's identity JWKS and a preset join code."""
        from puhui.federation.v1 import federation_pb2 as fpb

        jwks = node.app("identity").identity.jwks()
        return self.federation_stub().JoinNode(
            fpb.JoinNodeRequest(
                node_id=node.node_id,
                name=kw.get("name", ""),
                endpoints=[
                    fpb.Endpoint(service=s, address=r.address) for s, r in node.services.items()
                ],
                jwks_json=json.dumps(jwks),
                join_code=kw.get("join_code", self.join_codes.get(node.node_id, "")),
            )
        )


class _LazyHubVerifier:
    """The hub's verifier: the anchor is created by the hub app, so the follower starts on
    first use (any token before the hub is up is rejected)."""

    def __init__(self, federation: Federation, holder: dict[str, Any]) -> None:
        self._federation = federation
        self._holder = holder

    def _get(self) -> trust.FederatedVerifier:
        if "v" not in self._holder:
            fed = self._federation
            verifier = trust.federated_verifier(
                node_id=HUB_NODE_ID,
                bootstrap=fed.bootstrap,
                anchor_jwks=fed.anchor_jwks,
                topic=fed.keys_topic,
            ).start()
            fed.stack.callback(verifier.stop)
            verifier.wait_caught_up(10)
            self._holder["v"] = verifier
        return self._holder["v"]  # type: ignore[no-any-return]

    def verify(self, token: str) -> Any:
        return self._get().verify(token)


@contextlib.contextmanager
def federation(
    bootstrap: str, database: Callable[[str], str], redis_url: str = ""
) -> Iterator[Federation]:
    with contextlib.ExitStack() as stack:
        yield Federation(stack, bootstrap=bootstrap, database=database, redis_url=redis_url)


# -- cutting a province off: a TCP proxy and a broker that advertises it -------------------
class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target` (host:port). `cut()` drops every connection and
    refuses new ones (a real cut: clients see resets and refused connections);
    `restore()` accepts again on the same port."""

    def __init__(self, target: str, port: int = 0) -> None:
        import socket
        import threading

        host, _, tport = target.rpartition(":")
        self.target = (host or "127.0.0.1", int(tport))
        self._socket_mod = socket
        self._lock = threading.Lock()
        self._conns: set[Any] = set()
        self._listener: Any = None
        self._thread: threading.Thread | None = None
        self.port = port
        self.connections_accepted = 0
        self.bytes_forwarded = 0

    def start(self) -> TcpProxy:
        import threading

        socket = self._socket_mod
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()
        return self

    def _accept(self, listener: Any) -> None:
        import threading

        socket = self._socket_mod
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._conns.update((client, upstream))
                self.connections_accepted += 1
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: Any, sink: Any) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
                self.bytes_forwarded += len(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.close()
            with self._lock:
                self._conns.discard(source)
                self._conns.discard(sink)

    def cut(self) -> None:
        socket = self._socket_mod
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = set(self._conns), set()
        if listener is not None:
            listener.close()
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()

    def restore(self) -> None:
        self.start()

    stop = cut


SPLIT_BROKER = """\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=HUB://127.0.0.1:{hub_port},PROVINCE://127.0.0.1:{province_port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=HUB://127.0.0.1:{hub_port},PROVINCE://127.0.0.1:{proxy_port}
inter.broker.listener.name=HUB
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,HUB:PLAINTEXT,PROVINCE:PLAINTEXT
log.dirs={data}
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
"""


@dataclass
class SplitBroker:
    """A dedicated single-node Kafka with two client listeners: the hub's, direct, and the
    province's, advertised at a proxy port — so cutting the proxy cuts only the province."""

    handle: Any
    hub_bootstrap: str
    province_bootstrap: str
    proxy: TcpProxy

    def stop(self) -> None:
        self.proxy.cut()
        self.handle.stop()


def start_split_broker(state_dir: str) -> SplitBroker:
    from pathlib import Path

    from puhui.kit.testing import load_infra

    infra = load_infra()
    home = Path(state_dir).resolve()
    home.mkdir(parents=True, exist_ok=True)
    hub_port, province_port, controller_port, proxy_port = (free_port() for _ in range(4))
    props = home / "server.properties"
    props.write_text(
        SPLIT_BROKER.format(
            hub_port=hub_port,
            province_port=province_port,
            controller_port=controller_port,
            proxy_port=proxy_port,
            data=home / "data",
        )
    )
    log_path = home / "kafka.log"
    tool = [*infra._jvm(home, "-Xmx256m", level="warn"), "kafka.tools.StorageTool"]
    argv = [*tool, "format", f"--cluster-id={infra.new_cluster_id()}", f"--config={props}"]
    infra.run(argv, "Kafka format", log_path)
    argv = [*infra._jvm(home, "-Xms128m", "-Xmx384m"), "kafka.Kafka", str(props)]
    handle = infra.spawn(argv, log_path, detach=False)

    def ready() -> bool:
        return "Kafka Server started" in handle.log_since_start() and infra.port_open(
            "127.0.0.1", hub_port
        )

    infra._ready_or_stop(handle, "split Kafka broker", ready, 90)
    proxy = TcpProxy(f"127.0.0.1:{province_port}", proxy_port).start()
    return SplitBroker(handle, f"127.0.0.1:{hub_port}", f"127.0.0.1:{proxy_port}", proxy)

"""A service's metrics port: `/metrics` with that service's series only, and a `/healthz`
that answers what the service's gRPC health says.

Every series is declared once, process-wide, in prometheus_client's registry
(`puhui.kit.metrics`, `puhui.<service>.metrics`). A process may run several services, even
of several nodes (`puhui.federation.local`), so each port serves a view of that registry
(ADR 0017): the series whose `node` and `service` labels are its own, or, for a service's
business series that carry only `node`, those named `puhui_<service>_…`. Series of the
process itself (`process_*`, `python_*`, anything without a node) are served by one port of
the process only, the first started, so a Prometheus that scrapes every port counts each
series once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import REGISTRY, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.metrics_core import Metric

# Services whose business series are named puhui_<service>_… with only a node label.
SERVICES = ("identity", "catalog", "data", "feedback", "federation")

_lock = threading.Lock()
_views: list[ServiceView] = []  # started views, oldest first: the first one owns the process


class ServiceView:
    """The part of the process registry that belongs to one service of one node."""

    def __init__(self, node: str, service: str, registry: Any = REGISTRY) -> None:
        self.node = node
        self.service = service
        self.registry = registry
        self._prefix = f"puhui_{service}_"

    def owns_process(self) -> bool:
        with _lock:
            return bool(_views) and _views[0] is self

    def _mine(self, name: str, labels: dict[str, str], process: bool) -> bool:
        node = labels.get("node")
        if node is None:
            return process
        if node != self.node:
            return False
        service = labels.get("service")
        if service is not None:
            return service == self.service
        if name.startswith(self._prefix):
            return True
        return process and not any(name.startswith(f"puhui_{s}_") for s in SERVICES)

    def collect(self) -> Iterator[Metric]:
        process = self.owns_process()
        for family in self.registry.collect():
            samples = [s for s in family.samples if self._mine(family.name, s.labels, process)]
            if not samples:
                continue
            mine = Metric(family.name, family.documentation, family.type, family.unit)
            mine.samples = samples
            yield mine

    def restricted_registry(self, names: Any) -> ServiceView:
        return self  # ?name[]= is not used by Prometheus scrapes: the whole view


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


class MetricsServer:
    """The HTTP endpoint on its own port (separate from gRPC): `/metrics` (also `/`) with
    the service's view of the registry; `/healthz`: 200 while `health()` says serving,
    503 otherwise, the status in the body."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        node: str = "",
        service: str = "",
        health: Callable[[], tuple[bool, str]] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.view = ServiceView(node, service)
        self._health = health or (lambda: (True, "SERVING"))
        self._server: ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def _app(self) -> Callable[..., Any]:
        metrics_app = make_wsgi_app(self.view)  # type: ignore[arg-type]

        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            path = environ.get("PATH_INFO") or "/"
            if path == "/healthz":
                ok, status = self._health()
                code = "200 OK" if ok else "503 Service Unavailable"
                start_response(code, [("Content-Type", "text/plain; charset=utf-8")])
                return [f"{status}\n".encode()]
            if path in ("/", "/metrics"):
                return list(metrics_app(environ, start_response))
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"not found: /metrics or /healthz\n"]

        return app

    def start(self) -> int:
        self._server = make_server(
            self.host, self.port, self._app(), ThreadingWSGIServer, handler_class=_Quiet
        )
        self.port = self._server.server_port
        with _lock:
            _views.append(self.view)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"metrics-{self.port}", daemon=True
        )
        self._thread.start()
        return self.port

    def stop(self) -> None:
        with _lock:
            if self.view in _views:
                _views.remove(self.view)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

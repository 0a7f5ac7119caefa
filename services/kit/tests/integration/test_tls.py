"""TLS and mutual TLS on a real service (the catalog over real PostgreSQL).

Certificates are made at run time: a federation trust anchor, node certificates under it, and
a second, unrelated CA whose certificate must be refused.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from grpc_health.v1 import health_pb2, health_pb2_grpc

from puhui.catalog.server import build
from puhui.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from puhui.kit import tls
from puhui.kit.testing import running

pytestmark = pytest.mark.integration

NODE = "440000"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pki")
    ca = tls.create_ca("Puhui test federation CA")
    ca.write(out, "ca")
    tls.issue_node_certificate(ca, NODE, dns_names=["localhost"], ip_addresses=["127.0.0.1"]).write(
        out, "server"
    )
    tls.issue_node_certificate(ca, "000000", dns_names=["hub.nodes.puhui"]).write(out, "hub")
    rogue = tls.create_ca("Someone else's CA")
    rogue.write(out, "rogue-ca")
    tls.issue_node_certificate(rogue, "000000", dns_names=["hub.nodes.puhui"]).write(out, "rogue")
    return {p.stem + p.suffix.replace(".", "_"): p for p in out.iterdir()}


@pytest.fixture(scope="module")
def mtls_catalog(pki: dict[str, Path], postgres_admin_url: str) -> Iterator[str]:
    from puhui.kit.testing import free_port, temporary_database

    with temporary_database(postgres_admin_url, "tls") as url:
        app = build(
            node_id=NODE,
            database_url=url,
            grpc_port=0,
            metrics_port=0,
            health_port=free_port(),
            tls_cert_file=str(pki["server_crt"]),
            tls_key_file=str(pki["server_key"]),
            tls_client_ca_file=str(pki["ca_crt"]),
        )
        with running(app) as host:
            yield f"127.0.0.1:{host.port}|{app.config.health_port}"


def _address(spec: str) -> str:
    return spec.split("|")[0]


def _call(channel: grpc.Channel) -> grpc.StatusCode:
    """GetInstitution of an unknown id: NOT_FOUND means the catalog itself answered."""
    stub = catalog_pb2_grpc.CatalogServiceStub(channel)
    with pytest.raises(grpc.RpcError) as err:
        stub.GetInstitution(catalog_pb2.GetInstitutionRequest(institution_id="x"), timeout=5)
    return err.value.code()


def test_mutual_tls_handshake_succeeds_with_a_node_certificate(mtls_catalog, pki):
    with tls.secure_channel(
        _address(mtls_catalog), pki["ca_crt"], pki["hub_crt"], pki["hub_key"]
    ) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        # The handshake carried us to the catalog itself, which looked the id up.
        assert _call(channel) == grpc.StatusCode.NOT_FOUND


def test_a_client_without_a_certificate_is_refused(mtls_catalog, pki):
    with tls.secure_channel(_address(mtls_catalog), pki["ca_crt"]) as channel:
        assert _call(channel) == grpc.StatusCode.UNAVAILABLE


def test_a_certificate_from_another_ca_is_refused(mtls_catalog, pki):
    with tls.secure_channel(
        _address(mtls_catalog), pki["ca_crt"], pki["rogue_crt"], pki["rogue_key"]
    ) as channel:
        assert _call(channel) == grpc.StatusCode.UNAVAILABLE


def test_a_plaintext_client_is_refused(mtls_catalog):
    with grpc.insecure_channel(_address(mtls_catalog)) as channel:
        assert _call(channel) == grpc.StatusCode.UNAVAILABLE


def test_the_client_refuses_a_server_outside_its_trust_anchor(mtls_catalog, pki):
    # Trusting only the rogue CA, the hub's client must not accept our node's certificate.
    with tls.secure_channel(
        _address(mtls_catalog), pki["rogue-ca_crt"], pki["rogue_crt"], pki["rogue_key"]
    ) as channel:
        assert _call(channel) == grpc.StatusCode.UNAVAILABLE


def test_the_health_port_answers_plaintext_for_probes(mtls_catalog):
    health_port = mtls_catalog.split("|")[1]
    with grpc.insecure_channel(f"127.0.0.1:{health_port}") as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        live = health_pb2.HealthCheckRequest(service="puhui.liveness")
        assert health_pb2_grpc.HealthStub(channel).Check(live, timeout=5).status == (
            health_pb2.HealthCheckResponse.SERVING
        )
        # Only health is there: the catalog's RPCs are not served on the plaintext port.
        assert _call(channel) == grpc.StatusCode.UNIMPLEMENTED


def test_the_certificate_expiry_is_a_metric(mtls_catalog, pki):
    from puhui.kit import metrics

    expected = x509.load_pem_x509_certificate(pki["server_crt"].read_bytes()).not_valid_after_utc
    (family,) = metrics.TLS_CERTIFICATE_EXPIRY.collect()
    values = {(s.labels["node"], s.labels["service"]): s.value for s in family.samples if s.labels}
    assert values[(NODE, "catalog")] == expected.timestamp()


def _served_certificate(address: str, pki: dict[str, Path]) -> x509.Certificate:
    host, port = address.split(":")
    context = ssl.create_default_context(cafile=str(pki["ca_crt"]))
    context.load_cert_chain(str(pki["hub_crt"]), str(pki["hub_key"]))
    context.set_alpn_protocols(["h2"])
    with (
        socket.create_connection((host, int(port)), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as conn,
    ):
        der = conn.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def test_a_rotated_certificate_is_served_without_restart(tmp_path, postgres_admin_url):
    from puhui.kit.testing import temporary_database

    ca = tls.create_ca()
    ca.write(tmp_path, "ca")
    first = tls.issue_node_certificate(ca, NODE, dns_names=["localhost"])
    cert, key = first.write(tmp_path / "live", "node")
    tls.issue_node_certificate(ca, "000000", dns_names=["hub"]).write(tmp_path, "hub")
    pki = {
        "ca_crt": tmp_path / "ca.crt",
        "hub_crt": tmp_path / "hub.crt",
        "hub_key": tmp_path / "hub.key",
    }
    with temporary_database(postgres_admin_url, "tlsrot") as url:
        app = build(
            node_id=NODE,
            database_url=url,
            grpc_port=0,
            metrics_port=0,
            tls_cert_file=str(cert),
            tls_key_file=str(key),
            tls_client_ca_file=str(pki["ca_crt"]),
        )
        with running(app) as host:
            address = f"127.0.0.1:{host.port}"
            assert (
                _served_certificate(address, pki).serial_number == first.certificate.serial_number
            )
            second = tls.issue_node_certificate(ca, NODE, dns_names=["localhost"])
            # Write key then certificate, as the runbook says (both files are checked).
            second.write(tmp_path / "live", "node")
            assert (
                _served_certificate(address, pki).serial_number == second.certificate.serial_number
            )


def test_channel_for_follows_the_service_tls_settings(mtls_catalog, pki):
    from puhui.kit.config import ServiceConfig

    peer = ServiceConfig(
        node_id="000000",
        tls_cert_file=str(pki["hub_crt"]),
        tls_key_file=str(pki["hub_key"]),
        tls_client_ca_file=str(pki["ca_crt"]),
    )
    with tls.channel_for(peer, _address(mtls_catalog)) as channel:
        assert _call(channel) == grpc.StatusCode.NOT_FOUND
    with tls.channel_for(ServiceConfig(), _address(mtls_catalog)) as channel:
        assert _call(channel) == grpc.StatusCode.UNAVAILABLE  # plaintext is refused


def test_peer_node_names_the_calling_node_from_its_certificate(pki):
    from concurrent import futures

    seen: list[str | None] = []

    def whoami(request: bytes, context: grpc.ServicerContext) -> bytes:
        seen.append(tls.peer_node(context))
        return request

    handler = grpc.method_handlers_generic_handler(
        "test.WhoAmI", {"Call": grpc.unary_unary_rpc_method_handler(whoami)}
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_secure_port(
        "127.0.0.1:0", tls.server_credentials(pki["server_crt"], pki["server_key"], pki["ca_crt"])
    )
    server.start()
    try:
        with tls.secure_channel(
            f"127.0.0.1:{port}", pki["ca_crt"], pki["hub_crt"], pki["hub_key"]
        ) as channel:
            assert channel.unary_unary("/test.WhoAmI/Call")(b"x", timeout=5) == b"x"
    finally:
        server.stop(0)
    assert seen == ["000000"]

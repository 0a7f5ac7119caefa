"""The client address behind trusted proxies (PUHUI_TRUSTED_PROXIES): x-forwarded-for is
believed only from a trusted peer, and then only right of the first untrusted hop."""

from __future__ import annotations

from concurrent import futures

import grpc
import pytest

from puhui.kit import auth, config, proxies
from puhui.kit.interceptors import ServiceInterceptor

LB = proxies.parse_networks(["10.0.0.0/8", "fd00::/8"])


def xff(*values: str) -> list[tuple[str, str]]:
    return [("x-forwarded-for", v) for v in values]


@pytest.mark.parametrize(
    ("peer", "metadata", "expected"),
    [
        # an untrusted peer cannot choose its address
        ("203.0.113.9", xff("10.1.1.1, 198.51.100.1"), "203.0.113.9"),
        # behind our balancer: the address it saw
        ("10.0.0.5", xff("198.51.100.1"), "198.51.100.1"),
        # a client-written prefix is ignored: right-most untrusted hop wins
        ("10.0.0.5", xff("1.2.3.4, 198.51.100.1"), "198.51.100.1"),
        # two of our proxies in a row
        ("10.0.0.5", xff("198.51.100.1, 10.2.2.2"), "198.51.100.1"),
        # several header lines are one list, in order
        ("10.0.0.5", xff("7.7.7.7", "198.51.100.1"), "198.51.100.1"),
        # IPv6 with brackets and port; IPv4 with port
        ("fd00::1", xff("[2001:db8::7]:443"), "2001:db8::7"),
        ("10.0.0.5", xff("198.51.100.1:5555"), "198.51.100.1"),
        # garbage right of the client: stop at the last believable hop (the proxy)
        ("10.0.0.5", xff("198.51.100.1, not-an-address"), "10.0.0.5"),
        # only proxies: the left-most of them
        ("10.0.0.5", xff("10.9.9.9"), "10.9.9.9"),
        # trusted peer, no header: the peer
        ("10.0.0.5", [], "10.0.0.5"),
    ],
)
def test_client_address(peer, metadata, expected):
    assert proxies.client_address(peer, metadata, LB) == expected


def test_without_trusted_proxies_the_header_is_never_read():
    assert proxies.client_address("10.0.0.5", xff("198.51.100.1"), ()) == "10.0.0.5"


def test_malformed_networks_stop_the_process_naming_the_variable():
    with pytest.raises(config.ConfigError, match="PUHUI_TRUSTED_PROXIES"):
        config.load(config.ServiceConfig, {"PUHUI_TRUSTED_PROXIES": "10.0.0.0/8,nonsense"})
    loaded = config.load(config.ServiceConfig, {"PUHUI_TRUSTED_PROXIES": "10.0.0.0/8, ::1"})
    assert loaded.trusted_proxies == ("10.0.0.0/8", "::1")


@pytest.fixture
def address_seen_by_handler():
    servers: list[grpc.Server] = []

    def make(trusted: tuple[str, ...]) -> str:
        def handler(request: bytes, context: grpc.ServicerContext) -> bytes:
            return auth.current_principal().client_address.encode()

        srv = grpc.server(
            futures.ThreadPoolExecutor(max_workers=2),
            interceptors=[
                ServiceInterceptor(
                    "proxytest", "440000", auth.RejectingVerifier(), trusted_proxies=trusted
                )
            ],
        )
        srv.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler(
                    "puhui.proxytest.v1.Echo", {"Who": grpc.unary_unary_rpc_method_handler(handler)}
                ),
            )
        )
        port = srv.add_insecure_port("127.0.0.1:0")
        srv.start()
        servers.append(srv)
        return f"127.0.0.1:{port}"

    yield make
    for srv in servers:
        srv.stop(0)


def test_the_interceptor_uses_the_forwarded_address_only_from_a_trusted_proxy(
    address_seen_by_handler,
):
    def who(address: str) -> str:
        with grpc.insecure_channel(address) as channel:
            call = channel.unary_unary("/puhui.proxytest.v1.Echo/Who")
            return call(b"", metadata=xff("198.51.100.1"), timeout=10).decode()

    assert who(address_seen_by_handler(())) == "127.0.0.1"
    assert who(address_seen_by_handler(("127.0.0.0/8",))) == "198.51.100.1"
    assert who(address_seen_by_handler(("10.0.0.0/8",))) == "127.0.0.1"

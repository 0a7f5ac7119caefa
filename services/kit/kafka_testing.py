"""A secured single-node Kafka cluster for tests and benchmarks (docs/adr/0022).

`secured_cluster(folder)` creates a federation CA (puhui.kit.tls), issues the broker's
certificate as the hub node's, starts an extra KRaft cluster through deploy/local/infra.py
with PLAINTEXT, SASL_SSL (SCRAM-SHA-512) and SSL (mutual TLS) listeners and the
StandardAuthorizer, and hands out client settings for any principal. The shared broker of
`make up` is never touched.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from puhui.kit import kafka, tls
from puhui.kit.config import HUB_NODE_ID
from puhui.kit.testing import free_port, load_infra

ADMIN = "puhui-admin"


def node_principal(node: str) -> str:
    """The Kafka principal of a node: its certificate CN, or its SCRAM user name."""
    return f"{tls.NODE_CN_PREFIX}{node}"


@dataclass
class SecuredCluster:
    folder: Path
    plaintext: str
    sasl_ssl: str
    ssl: str
    ca: tls.Issued = field(repr=False)
    ca_file: Path
    admin_password: str = field(repr=False)
    passwords: dict[str, str] = field(default_factory=dict, repr=False)

    def admin(self) -> kafka.KafkaSecurity:
        return self.scram(ADMIN, self.admin_password)

    def scram(self, user: str, password: str) -> kafka.KafkaSecurity:
        return kafka.KafkaSecurity(
            protocol="SASL_SSL",
            ca_file=str(self.ca_file),
            sasl_username=user,
            sasl_password=password,
        )

    def add_scram_user(self, user: str) -> kafka.KafkaSecurity:
        """Create SCRAM-SHA-512 credentials for `user` (through the admin API)."""
        password = self.passwords.setdefault(user, secrets.token_urlsafe(18))
        kafka.set_scram_password(self.sasl_ssl, user, password, security=self.admin())
        return self.scram(user, password)

    def mtls(self, node: str, ca: tls.Issued | None = None) -> kafka.KafkaSecurity:
        """Mutual-TLS settings with a certificate for `node` issued by `ca` (default: ours)."""
        issued = tls.issue_node_certificate(ca or self.ca, node, ip_addresses=["127.0.0.1"])
        stem = f"client-{node}-{secrets.token_hex(3)}"
        cert, key = issued.write(self.folder / "clients", stem)
        return kafka.KafkaSecurity(
            protocol="SSL", ca_file=str(self.ca_file), cert_file=str(cert), key_file=str(key)
        )


@contextmanager
def secured_cluster(folder: Path) -> Iterator[SecuredCluster]:
    infra = load_infra()
    folder.mkdir(parents=True, exist_ok=True)
    ca = tls.create_ca("Puhui test federation CA")
    ca_file, _ = ca.write(folder / "ca", "ca")
    broker = tls.issue_node_certificate(
        ca, HUB_NODE_ID, dns_names=["localhost"], ip_addresses=["127.0.0.1"]
    )
    keystore = folder / "broker.pem"
    keystore.write_bytes(broker.key_pem + broker.cert_pem)
    keystore.chmod(0o600)
    admin_password = secrets.token_urlsafe(18)
    port, controller, sasl, ssl = (free_port() for _ in range(4))
    secure = infra.Secured(
        sasl_port=sasl,
        ssl_port=ssl,
        keystore=keystore,
        truststore=ca_file,
        super_users=(ADMIN, node_principal(HUB_NODE_ID)),
        scram_users=((ADMIN, admin_password),),
    )
    handle = infra.start_kafka(folder / "kafka", port, controller, secure=secure)
    try:
        yield SecuredCluster(
            folder=folder,
            plaintext=f"127.0.0.1:{port}",
            sasl_ssl=f"127.0.0.1:{sasl}",
            ssl=f"127.0.0.1:{ssl}",
            ca=ca,
            ca_file=ca_file,
            admin_password=admin_password,
        )
    finally:
        handle.stop()

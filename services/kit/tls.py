"""TLS and mutual TLS for gRPC: server credentials, node-to-node channels, node certificates.

Configuration is by file paths (PEM), never by values in the environment:

- PUHUI_TLS_CERT_FILE / PUHUI_TLS_KEY_FILE: the server's certificate chain and private key.
  When both are set the gRPC port serves TLS only.
- PUHUI_TLS_CLIENT_CA_FILE: the federation trust anchor(s). When set, every client must
  present a certificate issued under one of these CAs (mutual TLS); others are refused
  during the handshake. During a trust-anchor rotation the file holds both CAs.

The server re-reads the three files when their modification time changes, so rotating a
node certificate (see docs/ops/rotate-node-keys.md) needs no restart: new connections get
the new certificate, established ones keep theirs until they reconnect.

Node certificates carry `CN=puhui-node-<node id>`, `O=Puhui`, `OU=<node id>`, serverAuth and
clientAuth (a node is both a server and a client of its peers), and DNS/IP subject alternative
names. `python -m puhui.kit.tls` creates a trust anchor and issues node certificates:

    python -m puhui.kit.tls init-ca --out /secure/ca
    python -m puhui.kit.tls issue --ca /secure/ca/ca.crt --ca-key /secure/ca/ca.key \\
        --node 440000 --dns catalog.gd.example.cn --out /secure/440000
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import logging
import math
import os
import re
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from puhui.kit.config import ServiceConfig
from puhui.kit.grpc_client import channel_options

logger = logging.getLogger(__name__)

NODE_ID_RE = re.compile(r"^\d{6}$")
NODE_CN_PREFIX = "puhui-node-"
ORGANISATION = "Puhui"


# -- gRPC credentials ------------------------------------------------------------------------


def _read(path: str | Path) -> bytes:
    return Path(path).read_bytes()


@dataclass(frozen=True)
class ServerTLS:
    """Where a server's TLS material lives. `client_ca_file` set = mutual TLS."""

    cert_file: str
    key_file: str
    client_ca_file: str = ""

    @property
    def mutual(self) -> bool:
        return bool(self.client_ca_file)

    def _files(self) -> list[str]:
        return [f for f in (self.cert_file, self.key_file, self.client_ca_file) if f]

    def _stamp(self) -> tuple[float, ...]:
        return tuple(os.stat(f).st_mtime_ns for f in self._files())

    def _configuration(self) -> grpc.ServerCertificateConfiguration:
        return grpc.ssl_server_certificate_configuration(
            [(_read(self.key_file), _read(self.cert_file))],
            root_certificates=_read(self.client_ca_file) if self.client_ca_file else None,
        )

    def not_after(self) -> float:
        """Unix time at which the certificate in `cert_file` expires (NaN if unreadable)."""
        try:
            cert = x509.load_pem_x509_certificate(_read(self.cert_file))
        except (OSError, ValueError):
            return math.nan
        return cert.not_valid_after_utc.timestamp()

    def credentials(self) -> grpc.ServerCredentials:
        """Server credentials that re-read the files when they change (rotation, no restart)."""
        initial = self._configuration()
        lock = threading.Lock()
        state = {"stamp": self._stamp()}

        def fetch() -> grpc.ServerCertificateConfiguration | None:
            # Called by gRPC before each new handshake; None keeps the current material.
            try:
                stamp = self._stamp()
                with lock:
                    if stamp == state["stamp"]:
                        return None
                    config = self._configuration()
                    state["stamp"] = stamp
                logger.info("TLS: certificate files changed; new connections use the new material")
                return config
            except Exception:
                logger.warning(
                    "TLS: cannot reload certificate files; keeping the current ones", exc_info=True
                )
                return None

        return grpc.dynamic_ssl_server_credentials(
            initial, fetch, require_client_authentication=self.mutual
        )


def server_credentials(
    cert_file: str | Path, key_file: str | Path, client_ca_file: str | Path | None = None
) -> grpc.ServerCredentials:
    """TLS server credentials; with `client_ca_file`, clients must present a certificate."""
    return ServerTLS(str(cert_file), str(key_file), str(client_ca_file or "")).credentials()


def channel_credentials(
    ca_file: str | Path, cert_file: str | Path | None = None, key_file: str | Path | None = None
) -> grpc.ChannelCredentials:
    """Client credentials trusting `ca_file`; with cert and key, the client authenticates too."""
    if (cert_file is None) != (key_file is None):
        raise ValueError("a client certificate needs both cert_file and key_file")
    return grpc.ssl_channel_credentials(
        root_certificates=_read(ca_file),
        private_key=_read(key_file) if key_file else None,
        certificate_chain=_read(cert_file) if cert_file else None,
    )


def secure_channel(
    target: str,
    ca: str | Path,
    cert: str | Path | None = None,
    key: str | Path | None = None,
    *,
    server_name: str | None = None,
    options: Sequence[tuple[str, object]] = (),
) -> grpc.Channel:
    """A node-to-node channel with mutual TLS under the federation trust anchor `ca`.

    `server_name` checks the server certificate against that name instead of the host part of
    `target` (e.g. when dialling an IP address or a port-forward).
    """
    opts = channel_options(options)
    if server_name:
        opts.append(("grpc.ssl_target_name_override", server_name))
    return grpc.secure_channel(target, channel_credentials(ca, cert, key), options=opts)


def channel_for(
    config: ServiceConfig, target: str, *, server_name: str | None = None
) -> grpc.Channel:
    """A channel from this service to another (same node or a peer node), following the
    service's own TLS settings: mutual TLS with the node certificate when PUHUI_TLS_* are set
    (trusting PUHUI_TLS_CLIENT_CA_FILE), plaintext otherwise (local runs)."""
    if not config.tls_enabled:
        return grpc.insecure_channel(target, options=channel_options())
    if not config.tls_client_ca_file:
        raise ValueError("node-to-node TLS needs PUHUI_TLS_CLIENT_CA_FILE (the trust anchor)")
    return secure_channel(
        target,
        config.tls_client_ca_file,
        config.tls_cert_file,
        config.tls_key_file,
        server_name=server_name,
    )


def peer_node(context: grpc.ServicerContext) -> str | None:
    """The node id of an mTLS peer (from its certificate's CN), or None without one."""
    names = context.auth_context().get("x509_common_name") or []
    for raw in names:
        cn = raw.decode() if isinstance(raw, bytes) else str(raw)
        if cn.startswith(NODE_CN_PREFIX) and NODE_ID_RE.match(cn[len(NODE_CN_PREFIX) :]):
            return cn[len(NODE_CN_PREFIX) :]
    return None


# -- issuing certificates ----------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, as PEM."""

    cert_pem: bytes
    key_pem: bytes

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)

    def write(self, folder: str | Path, stem: str) -> tuple[Path, Path]:
        """Write `<stem>.crt` (0644) and `<stem>.key` (0600) into `folder`."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = out / f"{stem}.crt", out / f"{stem}.key"
        cert_path.write_bytes(self.cert_pem)
        cert_path.chmod(0o644)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self.key_pem)
        return cert_path, key_path


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_ca(common_name: str = "Puhui federation root CA", *, days: int = 3650) -> Issued:
    """A new self-signed trust anchor (ECDSA P-256)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def issue_node_certificate(
    ca: Issued,
    node: str,
    *,
    dns_names: Sequence[str] = (),
    ip_addresses: Sequence[str] = (),
    days: int = 397,
) -> Issued:
    """A node certificate (server and client) signed by the trust anchor `ca`."""
    if not NODE_ID_RE.match(node):
        raise ValueError(f"node id must be 6 digits, got {node!r}")
    ca_cert = ca.certificate
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key must be an EC key")
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    if not sans:
        raise ValueError("a node certificate needs at least one DNS name or IP address")
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
                    x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, node),
                    x509.NameAttribute(NameOID.COMMON_NAME, f"{NODE_CN_PREFIX}{node}"),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=days), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return Issued(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def load_issued(cert_file: str | Path, key_file: str | Path) -> Issued:
    return Issued(_read(cert_file), _read(key_file))


# -- command line ----------------------------------------------------------------------------


def _cmd_init_ca(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if (out / "ca.key").exists() and not args.force:
        print(f"{out / 'ca.key'} exists; refusing to overwrite (use --force)", file=sys.stderr)
        return 1
    cert, key = create_ca(args.name, days=args.days).write(out, "ca")
    print(f"trust anchor: {cert}\nprivate key (keep offline): {key}")
    return 0


def _cmd_issue(args: argparse.Namespace) -> int:
    ca = load_issued(args.ca, args.ca_key)
    dns = list(args.dns or [])
    if not dns and not args.ip:
        dns = [f"{args.node}.nodes.puhui"]
    try:
        issued = issue_node_certificate(
            ca, args.node, dns_names=dns, ip_addresses=args.ip or [], days=args.days
        )
    except ValueError as exc:
        print(f"cannot issue: {exc}", file=sys.stderr)
        return 2
    cert, key = issued.write(args.out, args.name or f"node-{args.node}")
    c = issued.certificate
    print(
        f"node {args.node}: {cert} (serial {c.serial_number:x}, valid until "
        f"{c.not_valid_after_utc:%Y-%m-%d}), key {key}"
    )
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    cert = x509.load_pem_x509_certificate(_read(args.cert))
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n.value) for n in sans]
    except x509.ExtensionNotFound:
        names = []
    print(f"subject   {cert.subject.rfc4514_string()}")
    print(f"issuer    {cert.issuer.rfc4514_string()}")
    print(f"serial    {cert.serial_number:x}")
    print(f"valid     {cert.not_valid_before_utc:%Y-%m-%d} .. {cert.not_valid_after_utc:%Y-%m-%d}")
    print(f"names     {', '.join(names) or '-'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m puhui.kit.tls", description="Federation trust anchor and node certificates"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init-ca", help="create the federation trust anchor (hub, offline)")
    init.add_argument("--out", required=True, help="folder for ca.crt and ca.key")
    init.add_argument("--name", default="Puhui federation root CA")
    init.add_argument("--days", type=int, default=3650)
    init.add_argument("--force", action="store_true")
    init.set_defaults(func=_cmd_init_ca)
    issue = sub.add_parser("issue", help="issue a node certificate under the trust anchor")
    issue.add_argument("--ca", required=True, help="trust anchor certificate (PEM)")
    issue.add_argument("--ca-key", required=True, help="trust anchor private key (PEM)")
    issue.add_argument("--node", required=True, help="node id, e.g. 440000")
    issue.add_argument("--dns", action="append", help="DNS name (repeatable)")
    issue.add_argument("--ip", action="append", help="IP address (repeatable)")
    issue.add_argument("--days", type=int, default=397)
    issue.add_argument("--out", required=True, help="folder for node-<id>.crt and .key")
    issue.add_argument("--name", default="", help="file stem (default node-<id>)")
    issue.set_defaults(func=_cmd_issue)
    show = sub.add_parser("show", help="print a certificate's subject, issuer, validity, names")
    show.add_argument("cert")
    show.set_defaults(func=_cmd_show)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

"""Write the secret files compose.yaml names, under deploy/compose/secrets/ (ignored by git).

    .venv/bin/python deploy/compose/make-secrets.py [--out DIR] [--force]

Existing files are kept (re-running is safe); --force replaces them all. What is made:
random passwords for PostgreSQL, Redis and Grafana; the database and Redis URLs that embed
them; 32-byte base64 keys for the settings that are keys; a federation trust anchor
(secrets/ca/: ca.key never leaves this folder, and in production it lives offline at the hub)
and one node certificate per node under it (`puhui.kit.tls`); the federation service's
token trust anchor (an EC P-256 key, `puhui.kit.trust.TrustAnchor`) and its public JWK Set
(secrets/trust-anchor.jwks.json, the Compose config every service reads as
PUHUI_TRUST_ANCHOR_JWKS); one-time join codes the hub accepts for each province.

Files are 0644 inside a 0700 folder: Compose (without Swarm) bind-mounts secret files as they
are, so the services' non-root users must be able to read them, while the folder keeps other
users of the host out.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import secrets
import sys
from pathlib import Path

import yaml

from puhui.cli import SERVICES
from puhui.kit import tls
from puhui.kit.trust import TrustAnchor

HERE = Path(__file__).resolve().parent
NODE_RE = r"(?P<node>\d{6})"
HUB = "000000"


def _password() -> str:
    return secrets.token_urlsafe(24)


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


class Maker:
    def __init__(self, out: Path, force: bool) -> None:
        self.out = out
        self.force = force
        self.values: dict[str, str] = {}
        self._ca: tls.Issued | None = None
        self.nodes: list[str] = []

    def existing(self, name: str) -> str | None:
        path = self.out / name
        if name in self.values:
            return self.values[name]
        if path.exists() and not self.force:
            self.values[name] = path.read_text().rstrip("\n")
            return self.values[name]
        return None

    def put(self, name: str, value: str) -> str:
        if self.existing(name) is None:
            path = self.out / name
            path.write_text(value if value.endswith("\n") else value + "\n")
            path.chmod(0o644)
            self.values[name] = value.rstrip("\n")
        return self.values[name]

    def password(self, name: str) -> str:
        return self.existing(name) or self.put(name, _password())

    def ca(self) -> tls.Issued:
        if self._ca is None:
            folder = self.out / "ca"
            if (folder / "ca.key").exists() and not self.force:
                self._ca = tls.load_issued(folder / "ca.crt", folder / "ca.key")
            else:
                self._ca = tls.create_ca("Puhui federation root CA (compose)")
                folder.mkdir(mode=0o700, exist_ok=True)
                self._ca.write(folder, "ca")
        return self._ca

    def anchor(self) -> TrustAnchor:
        name = f"{HUB}-federation-anchor-key"
        pem = self.existing(name)
        if pem is None:
            pem = self.put(name, TrustAnchor.generate().to_pem().decode())
        return TrustAnchor.from_pem(pem + "\n")

    def make_config(self, name: str, file: Path) -> None:
        """Non-secret files made with the secrets (compose configs under ./secrets/)."""
        if name == "trust-anchor-jwks":
            # Always derived from the anchor key, so the two cannot disagree.
            file.write_text(json.dumps(self.anchor().public_jwks()) + "\n")
            file.chmod(0o644)
        else:
            raise SystemExit(f"make-secrets.py does not know how to make config {name!r}")

    def make(self, name: str) -> None:
        if self.existing(name) is not None:
            return
        if name == f"{HUB}-federation-anchor-key":
            self.anchor()
        elif name == f"{HUB}-federation-preset-join-codes":
            provinces = [n for n in self.nodes if n != HUB]
            self.put(name, ",".join(f"{n}:{secrets.token_urlsafe(12)}" for n in provinces))
        elif name == "federation-ca-crt":
            self.put(name, self.ca().cert_pem.decode())
        elif m := re.fullmatch(rf"{NODE_RE}-node-tls-(crt|key)", name):
            node = m["node"]
            hosts = [f"{svc}-{node}" for svc in (*SERVICES, "federation")]
            names = [*hosts, f"{node}.nodes.puhui", "localhost"]
            issued = tls.issue_node_certificate(self.ca(), node, dns_names=names)
            self.force_put(f"{node}-node-tls-crt", issued.cert_pem.decode())
            self.force_put(f"{node}-node-tls-key", issued.key_pem.decode())
        elif re.fullmatch(rf"{NODE_RE}-(postgres|redis)-password|grafana-admin-password", name):
            self.password(name)
        elif m := re.fullmatch(rf"{NODE_RE}-redis-url", name):
            password = self.password(f"{m['node']}-redis-password")
            self.put(name, f"redis://:{password}@redis-{m['node']}:6379/0")
        elif m := re.fullmatch(rf"{NODE_RE}-(?P<svc>[a-z]+)-database-url", name):
            password = self.password(f"{m['node']}-postgres-password")
            self.put(
                name,
                f"postgresql+psycopg://puhui:{password}@postgres-{m['node']}:5432/{m['svc']}",
            )
        elif name.endswith("-key"):
            self.put(name, _key())
        else:
            raise SystemExit(f"make-secrets.py does not know how to make {name!r}; teach it")

    def force_put(self, name: str, value: str) -> None:
        path = self.out / name
        path.write_text(value)
        path.chmod(0o644)
        self.values[name] = value.rstrip("\n")


def secret_names(compose: Path) -> list[str]:
    spec = yaml.safe_load(compose.read_text())
    return list(spec.get("secrets", {}))


def generated_configs(compose: Path) -> dict[str, str]:
    """Compose configs whose file lives under ./secrets/: made here, not committed."""
    spec = yaml.safe_load(compose.read_text())
    return {
        name: config["file"].removeprefix("./secrets/")
        for name, config in spec.get("configs", {}).items()
        if config.get("file", "").startswith("./secrets/")
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compose", type=Path, default=HERE / "compose.yaml")
    parser.add_argument("--out", type=Path, default=HERE / "secrets")
    parser.add_argument("--force", action="store_true", help="replace existing secrets")
    args = parser.parse_args(argv)
    args.out.mkdir(mode=0o700, parents=True, exist_ok=True)
    args.out.chmod(0o700)
    maker = Maker(args.out, args.force)
    names = secret_names(args.compose)
    maker.nodes = sorted({m["node"] for n in names if (m := re.match(NODE_RE + "-node-tls", n))})
    for name in names:
        maker.make(name)
    for name, file in generated_configs(args.compose).items():
        maker.make_config(name, args.out / file)
    print(f"{len(names)} secrets in {args.out} (values not shown)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

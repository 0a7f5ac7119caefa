"""`python -m puhui.federation [command]`: without a command, run the hub's federation server.

    python -m puhui.federation                      # serve
    python -m puhui.federation join-code 440000     # one-time code for `puhui node join`
    python -m puhui.federation remove 440000 --reason "..."
    python -m puhui.federation anchor               # the trust anchor's public JWKS
    python -m puhui.federation nodes                # the registry

Commands use the same environment (PUHUI_*) as the server.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from puhui.kit import logs, migrations


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m puhui.federation", description="Puhui federation hub"
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the gRPC server (the default)")
    code = sub.add_parser("join-code", help="create a one-time join code for a province")
    code.add_argument("node_id")
    code.add_argument("--valid-hours", type=int, default=24)
    remove = sub.add_parser("remove", help="remove a node: its tokens stop verifying everywhere")
    remove.add_argument("node_id")
    remove.add_argument("--reason", default="")
    sub.add_parser("anchor", help="print the trust anchor's public JWK Set")
    sub.add_parser("nodes", help="list registered nodes")
    return parser


def run_command(args: argparse.Namespace, **overrides: Any) -> int:
    from puhui.federation.adapters.registry_store import SqlRegistryStore
    from puhui.federation.registry import Registry, load_anchor
    from puhui.federation.server import build

    app = build(**overrides)
    logs.configure(app.name, app.config.node_id, app.config.log_level)
    app.db.start()
    try:
        if app.config.migrate_on_start:
            migrations.upgrade(app.name, app.db.url)
        anchor = load_anchor(app.db, app.federation_config.anchor_key, SqlRegistryStore)
        registry = Registry(app.db, anchor, store=SqlRegistryStore)
        if args.command == "join-code":
            code, expires = registry.create_join_code(args.node_id, args.valid_hours)
            print(f"node_id={args.node_id}")
            print(f"join_code={code}")
            print(f"expires_at={expires.isoformat()}")
        elif args.command == "remove":
            node = registry.remove(args.node_id, args.reason)
            print(f"{node.node_id}\t{node.status}\trevision {node.revision}")
        elif args.command == "anchor":
            print(json.dumps(registry.anchor.public_jwks()))
        elif args.command == "nodes":
            for node in registry.list(show_removed=True):
                print(f"{node.node_id}\t{node.status}\t{node.revision}\t{node.name}")
    finally:
        app.db.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command in (None, "serve"):
        from puhui.federation.server import main as serve

        serve()
        return
    raise SystemExit(run_command(args))

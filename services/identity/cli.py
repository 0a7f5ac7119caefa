"""`python -m puhui.identity [command]`: without a command, run the server.

    python -m puhui.identity                         # serve
    python -m puhui.identity keys list
    python -m puhui.identity keys rotate             # new active key; old one stays passive
    python -m puhui.identity keys retire KID         # drop a passive key from the JWKS
    python -m puhui.identity service-accounts create CLIENT_ID --scope catalog.read ...
    python -m puhui.identity roles grant PERSON_ID ROLE [--scope S]   # bootstrap admins
    python -m puhui.identity persons verify PERSON_ID --level substantial --method id_check

Commands use the same environment (PUHUI_*) as the server and write events through the
outbox, which the running server's relay publishes.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from puhui.identity import domain
from puhui.kit import logs, migrations
from puhui.kit.auth import Principal

ROLE_BY_NAME = {r.name.lower(): r for r in domain.Role}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m puhui.identity", description="Puhui identity service"
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the gRPC server (the default)")

    keys = sub.add_parser("keys", help="node signing keys").add_subparsers(
        dest="action", required=True
    )
    keys.add_parser("list", help="list signing keys and their status")
    keys.add_parser("rotate", help="create a new active key; the previous one becomes passive")
    retire = keys.add_parser("retire", help="retire a passive key (its tokens stop verifying)")
    retire.add_argument("kid")

    accounts = sub.add_parser("service-accounts", help="node service accounts").add_subparsers(
        dest="action", required=True
    )
    create = accounts.add_parser("create", help="create a client; prints its secret once")
    create.add_argument("client_id")
    create.add_argument(
        "--scope", action="append", default=[], help="scope the client may request (repeat)"
    )

    roles = sub.add_parser("roles", help="platform roles").add_subparsers(
        dest="action", required=True
    )
    for action in ("grant", "revoke"):
        cmd = roles.add_parser(action)
        cmd.add_argument("person_id")
        cmd.add_argument("role", choices=sorted(n for n in ROLE_BY_NAME if n != "node_service"))
        cmd.add_argument("--scope", default="")

    persons = sub.add_parser("persons", help="persons").add_subparsers(dest="action", required=True)
    verify = persons.add_parser("verify", help="raise a person's assurance level")
    verify.add_argument("person_id")
    verify.add_argument("--level", choices=["substantial", "high"], default="substantial")
    verify.add_argument("--method", default="operator")
    return parser


def run_command(args: argparse.Namespace, **overrides: object) -> int:
    from puhui.identity.server import build

    app = build(**overrides)
    app.db.start()
    try:
        if app.config.migrate_on_start:
            migrations.upgrade(app.name, app.db.url)
        identity = app.identity
        if args.command == "keys":
            if args.action == "rotate":
                print(identity.rotate_keys())
            elif args.action == "retire":
                identity.retire_key(args.kid)
                print(f"retired {args.kid}")
            for key in identity.list_keys():
                print(f"{key.kid}\t{key.status}\t{key.created_at.isoformat()}")
        elif args.command == "service-accounts":
            account, secret = identity.create_service_account(args.client_id, args.scope)
            print(f"client_id={account.client_id}")
            print(f"client_secret={secret}")
            print("(the secret is shown once; only its hash is stored)", file=sys.stderr)
        elif args.command == "roles":
            person = identity.change_role(
                None,
                args.person_id,
                ROLE_BY_NAME[args.role],
                args.scope,
                grant=args.action == "grant",
            )
            print(" ".join(g.claim() for g in person.grants))
        elif args.command == "persons":
            operator = Principal(
                subject="operator",
                issuer=app.node,
                roles=frozenset({"national_admin", "province_admin"}),
                role_scopes=(("province_admin", app.node),),
                assurance=domain.Assurance.HIGH,
            )
            level = domain.Assurance.HIGH if args.level == "high" else domain.Assurance.SUBSTANTIAL
            person = identity.verify_person(operator, args.person_id, level, args.method)
            print(f"{person.person_id}\t{person.assurance.name.lower()}")
    finally:
        app.db.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command in (None, "serve"):
        from puhui.identity.server import main as serve

        serve()
        return
    logs.configure(
        "identity", os.environ.get("PUHUI_NODE_ID", ""), os.environ.get("PUHUI_LOG_LEVEL", "INFO")
    )
    raise SystemExit(run_command(args))

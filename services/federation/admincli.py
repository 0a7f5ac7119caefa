"""`puhui node` admin commands over the hub's FederationService, not its database.

Join codes, removals, the node list and the trust anchor used to be the in-pod program
`python -m puhui.federation` writing straight into the registry. These commands call the
RPCs instead, with the saved session's token (a national admin for the writes, checked by
the service's policy), TLS from the common options, `--json` and one-line errors.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from puhui.federation import clikit
from puhui.federation.clikit import call, emit

STATUS = {0: "unknown", 1: "active", 2: "removed"}
PAGE_SIZE = 100


def _stub(channel: Any) -> Any:
    from puhui.federation.v1 import federation_pb2_grpc

    return federation_pb2_grpc.FederationServiceStub(channel)


def cmd_join_code(args: argparse.Namespace, hub: str) -> int:
    from puhui.federation.v1 import federation_pb2 as fpb

    request = fpb.CreateJoinCodeRequest(node_id=args.node_id, valid_hours=args.valid_hours)
    issued = clikit.with_token(
        lambda token: call(hub, _stub, "CreateJoinCode", request, token=token,
                           what="node join-code"),
        required=True,
    )  # fmt: skip
    expires = issued.expires_at.ToDatetime().isoformat() + "Z"
    result = {"node_id": issued.node_id, "join_code": issued.join_code, "expires_at": expires}
    emit(args.json, result, [f"node_id={issued.node_id}", f"join_code={issued.join_code}",
                             f"expires_at={expires}"])  # fmt: skip
    return 0


def cmd_remove(args: argparse.Namespace, hub: str) -> int:
    from puhui.federation.v1 import federation_pb2 as fpb

    request = fpb.RemoveNodeRequest(node_id=args.node_id, reason=args.reason)
    node = clikit.with_token(
        lambda token: call(hub, _stub, "RemoveNode", request, token=token, what="node remove"),
        required=True,
    )
    emit(args.json, {"node_id": node.node_id, "status": STATUS.get(node.status, "?"),
                     "revision": node.revision},
         [f"{node.node_id}\t{STATUS.get(node.status, '?')}\trevision {node.revision}"])  # fmt: skip
    return 0


def cmd_list(args: argparse.Namespace, hub: str) -> int:
    from puhui.federation.v1 import federation_pb2 as fpb

    nodes: list[Any] = []
    token, total = "", 0
    while True:
        page = call(hub, _stub, "ListNodes", fpb.ListNodesRequest(
            page_size=PAGE_SIZE, page_token=token, show_removed=args.show_removed,
        ), what="node list")  # fmt: skip
        nodes.extend(page.nodes)
        total = page.total_size or len(nodes)
        token = page.next_page_token
        if not token:
            break
        clikit.note(f"node list: {len(nodes)} of {total} nodes read")
    rows = [
        {"node_id": n.node_id, "status": STATUS.get(n.status, "?"), "revision": n.revision,
         "name": n.name}
        for n in nodes
    ]  # fmt: skip
    lines = [f"{r['node_id']}\t{r['status']}\t{r['revision']}\t{r['name']}" for r in rows]
    emit(args.json, {"nodes": rows, "total_size": total}, lines)
    return 0


def cmd_anchor(args: argparse.Namespace, hub: str) -> int:
    from puhui.federation.v1 import federation_pb2 as fpb

    anchor = call(hub, _stub, "GetTrustAnchor", fpb.GetTrustAnchorRequest(), what="node anchor")
    emit(args.json, {"jwks_json": anchor.jwks_json, "keys_topic": anchor.keys_topic},
         [anchor.jwks_json])  # fmt: skip
    return 0


def add_admin_commands(
    node: Any,
    common: Callable[[argparse.ArgumentParser], None],
    hub_of: Callable[[argparse.Namespace], str],
    epilog: str,
) -> None:
    """`puhui node join-code|remove|list|anchor` on the `node` subparsers."""
    hub_help = "hub federation address (default: the hub of `make run`)"

    def command(name: str, text: str, func: Callable[[argparse.Namespace, str], int]) -> Any:
        p = node.add_parser(name, help=text, description=text, epilog=epilog)
        common(p)
        p.add_argument("--hub", metavar="HOST:PORT", help=hub_help)
        p.set_defaults(func=lambda args: func(args, hub_of(args)))
        return p

    p = command("join-code", "issue a one-time join code for a node (national admin)",
                cmd_join_code)  # fmt: skip
    p.add_argument("node_id", help="the joining node's GB/T 2260 province code")
    p.add_argument("--valid-hours", type=int, default=24, help="how long the code is valid")
    p = command("remove", "remove a node: its tokens stop verifying everywhere (national admin)",
                cmd_remove)  # fmt: skip
    p.add_argument("node_id")
    p.add_argument("--reason", default="", help="recorded with the removal")
    p = command("list", "the nodes the hub registered", cmd_list)
    p.add_argument("--show-removed", action="store_true", help="include removed nodes")
    command("anchor", "print the trust anchor's public JWK Set", cmd_anchor)

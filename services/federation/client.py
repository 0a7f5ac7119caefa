"""Client commands of the `puhui` CLI: register, signin, search, match, rate, node join /
status / list. Addresses default to the local federation (`puhui run`) of `--node`.

    puhui node join --hub 10.0.0.1:30055 --node 440000 --identity 127.0.0.1:30061 \\
        --endpoint catalog=gd.example.cn:443 ... --join-code pjc_...

Every failure is one clear line on stderr and exit status 1 (2 for usage errors).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import grpc

from puhui.federation.local import HUB, port, state_dir

LEVELS = (
    "very_satisfied",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
    "very_dissatisfied",
)


class CliError(Exception):
    """A failure to report in one line."""


def token_file() -> Path:
    return state_dir() / "cli" / "token"


def saved_token() -> str | None:
    env = os.environ.get("PUHUI_TOKEN")
    if env:
        return env
    path = token_file()
    return path.read_text().strip() if path.exists() else None


def save_token(token: str) -> Path:
    path = token_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token)
    return path


def describe(exc: grpc.RpcError, what: str, address: str) -> str:
    code = exc.code()
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return f"{what}: cannot reach {address} ({code.name}); is it running and reachable?"
    details = exc.details() or ""
    fields: list[str] = []
    try:
        from google.rpc import error_details_pb2
        from grpc_status import rpc_status

        status = rpc_status.from_call(exc)  # type: ignore[arg-type]
        for detail in status.details if status is not None else ():
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                fields += [f"{v.field}: {v.description}" for v in bad.field_violations]
    except Exception:  # details are a bonus; the message is enough
        fields = []
    extra = f" [{'; '.join(fields)}]" if fields else ""
    return f"{what}: {code.name}: {details}{extra}"


def call(address: str, stub_factory: Callable[[grpc.Channel], Any], method: str, request: Any,
         *, token: str | None = None, what: str = "", timeout: float = 10.0) -> Any:  # fmt: skip
    metadata = [("authorization", f"Bearer {token}")] if token else None
    with grpc.insecure_channel(address) as channel:
        try:
            return getattr(stub_factory(channel), method)(
                request, timeout=timeout, metadata=metadata
            )
        except grpc.RpcError as exc:
            raise CliError(describe(exc, what or method, address)) from None


def _addr(args: argparse.Namespace, service: str, flag: str) -> str:
    given = getattr(args, flag, None)
    return str(given) if given else f"127.0.0.1:{port(args.node, service)}"


# -- identity -------------------------------------------------------------------------------
def cmd_register(args: argparse.Namespace) -> int:
    from puhui.identity.v1 import identity_pb2, identity_pb2_grpc

    address = _addr(args, "identity", "identity")
    person = call(
        address,
        identity_pb2_grpc.IdentityServiceStub,
        "RegisterPerson",
        identity_pb2.RegisterPersonRequest(
            display_name=args.name, email=args.email, mobile=args.mobile, password=args.password
        ),
        what="register",
    ).person
    print(f"registered {person.person_id} at node {person.home_node}")
    return 0


def cmd_signin(args: argparse.Namespace) -> int:
    from puhui.identity.v1 import identity_pb2, identity_pb2_grpc

    address = _addr(args, "identity", "identity")
    session = call(
        address,
        identity_pb2_grpc.IdentityServiceStub,
        "SignIn",
        identity_pb2.SignInRequest(login=args.login, password=args.password),
        what="sign in",
    )
    path = save_token(session.access_token)
    print(f"signed in as {session.person.person_id}; token valid {session.expires_in_seconds} s")
    print(f"saved to {path} (used by the other commands; or export PUHUI_TOKEN)")
    return 0


# -- catalog --------------------------------------------------------------------------------
def cmd_search(args: argparse.Namespace) -> int:
    if args.hub:
        from puhui.federation.v1 import federation_pb2 as fpb
        from puhui.federation.v1 import federation_pb2_grpc

        found = call(
            args.hub,
            federation_pb2_grpc.FederationServiceStub,
            "SearchNationalCatalog",
            fpb.SearchNationalCatalogRequest(
                query=args.query, region_code=args.region, page_size=args.limit
            ),
            token=saved_token(),
            what="national search",
        )
    else:
        from puhui.catalog.v1 import catalog_pb2, catalog_pb2_grpc

        found = call(
            _addr(args, "catalog", "catalog"),
            catalog_pb2_grpc.CatalogServiceStub,
            "SearchInstitutions",
            catalog_pb2.SearchInstitutionsRequest(
                query=args.query, region_code=args.region, page_size=args.limit
            ),
            token=saved_token(),
            what="search",
        )
    print(f"{found.total_size} institutions")
    for inst in found.institutions:
        print(f"  {inst.institution_id:<16} {inst.region_code}  {inst.name}")
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    from puhui.catalog.v1 import catalog_pb2, catalog_pb2_grpc

    profile = catalog_pb2.InnovatorProfile(
        region_code=args.region,
        innovator_type=f"INNOVATOR_TYPE_{args.type.upper()}",
        ipc_fields=args.ipc or [],
        needs_text=args.needs,
    )
    result = call(
        _addr(args, "catalog", "catalog"),
        catalog_pb2_grpc.CatalogServiceStub,
        "Match",
        catalog_pb2.MatchRequest(profile=profile, max_results=args.limit),
        token=saved_token(),
        what="match",
    )
    for m in result.matches:
        print(f"{m.score:6.2f}  {m.item.name}  @ {m.institution.name}")
        for reason in m.reasons:
            print(f"          + {reason}")
        for gap in m.gaps:
            print(f"          - {gap}")
    if not result.matches:
        print("no matching service items")
    return 0


# -- feedback -------------------------------------------------------------------------------
def cmd_rate(args: argparse.Namespace) -> int:
    from puhui.feedback.v1 import feedback_pb2, feedback_pb2_grpc

    rating = call(
        _addr(args, "feedback", "feedback"),
        feedback_pb2_grpc.FeedbackServiceStub,
        "SubmitRating",
        feedback_pb2.SubmitRatingRequest(
            rating_token=args.rating_token,
            stage=f"CASE_STAGE_{args.stage.upper()}",
            channel=feedback_pb2.RATING_CHANNEL_ONLINE,
            level=f"RATING_LEVEL_{args.level.upper()}",
            comment=args.comment,
            real_name=args.real_name,
        ),
        token=saved_token(),
        what="rate",
    )
    print(f"rating {rating.rating_id} recorded at node {rating.node_id}")
    if rating.ticket_id:
        print(f"rectification ticket {rating.ticket_id} opened")
    return 0


# -- nodes ----------------------------------------------------------------------------------
def _hub(args: argparse.Namespace) -> str:
    return str(args.hub or f"127.0.0.1:{port(HUB, 'federation')}")


def _jwks_for_join(args: argparse.Namespace) -> str:
    if args.jwks_file:
        try:
            text = Path(args.jwks_file).read_text()
            json.loads(text)
        except OSError as exc:
            raise CliError(f"node join: cannot read {args.jwks_file}: {exc.strerror}") from None
        except ValueError:
            raise CliError(f"node join: {args.jwks_file} is not valid JSON (a JWK Set)") from None
        return text
    from puhui.identity.v1 import identity_pb2, identity_pb2_grpc

    address = args.identity or f"127.0.0.1:{port(args.node, 'identity')}"
    jwks = call(
        address,
        identity_pb2_grpc.IdentityServiceStub,
        "GetJwks",
        identity_pb2.GetJwksRequest(),
        what="node join: reading this node's keys from its identity service",
    )
    if jwks.issuer != args.node:
        raise CliError(
            f"node join: the identity service at {address} signs for node {jwks.issuer}, "
            f"not {args.node}; check --identity or PUHUI_NODE_ID there"
        )
    return str(jwks.jwks_json)


def cmd_node_join(args: argparse.Namespace) -> int:
    from puhui.federation import domain
    from puhui.federation.v1 import federation_pb2 as fpb
    from puhui.federation.v1 import federation_pb2_grpc
    from puhui.kit.errors import Violations

    v = Violations()
    domain.check_node_id(args.node, v)
    if v.items:
        raise CliError(f"node join: --node {args.node}: {v.items[0].description}")
    endpoints = []
    for spec in args.endpoint or ():
        service, _, address = spec.partition("=")
        if service not in domain.SERVICES or not domain.ADDRESS_RE.match(address):
            raise CliError(f"node join: --endpoint {spec!r}: expected SERVICE=HOST:PORT")
        endpoints.append(fpb.Endpoint(service=service, address=address))
    if not endpoints and not args.hub:  # the local federation
        endpoints = [
            fpb.Endpoint(service=s, address=f"127.0.0.1:{port(args.node, s)}")
            for s in ("identity", "catalog", "data", "feedback")
        ]
    jwks = _jwks_for_join(args)
    hub = _hub(args)
    node = call(
        hub,
        federation_pb2_grpc.FederationServiceStub,
        "JoinNode",
        fpb.JoinNodeRequest(
            node_id=args.node,
            name=args.name,
            endpoints=endpoints,
            jwks_json=jwks,
            join_code=args.join_code,
        ),
        token=saved_token() if not args.join_code else None,
        what=f"node join ({args.node} at hub {hub})",
    )
    keys = len(json.loads(node.jwks_json).get("keys", []))
    print(
        f"node {node.node_id} {node.name} joined the federation (revision {node.revision}, "
        f"{keys} key(s) signed by the hub); other nodes accept its tokens within seconds"
    )
    return 0


def cmd_node_status(args: argparse.Namespace) -> int:
    from puhui.federation.v1 import federation_pb2 as fpb
    from puhui.federation.v1 import federation_pb2_grpc

    hub = _hub(args)
    status = call(
        hub,
        federation_pb2_grpc.FederationServiceStub,
        "GetFederationStatus",
        fpb.GetFederationStatusRequest(),
        what="node status",
    )
    names = {1: "active", 2: "removed"}
    print(f"hub {hub}: {status.hub_data_records} data records at the hub")
    # mirror: records mirrored / records at the hub; "= hub" once every data set's count
    # and content hash equal the hub's.
    print(f"{'node':<7} {'status':<8} {'events':>8} {'lag s':>7} {'mirror':>12}  name")
    for p in status.provinces:
        mirror = "n/a" if p.mirror_completeness < 0 else f"{p.mirror_completeness:.0%}"
        if p.mirror_in_sync:
            mirror += " = hub"
        print(f"{p.node_id:<7} {names.get(p.status, '?'):<8} {p.events_applied:>8} "
              f"{p.last_lag_seconds:>7.2f} {mirror:>12}  {p.name}")  # fmt: skip
    return 0


def add_commands(
    sub: Any, add_status: Callable[[argparse.ArgumentParser], None] | None = None
) -> None:
    """Register the client commands on the `puhui` CLI's subparsers; `add_status` fills in
    `puhui node status` (the operator's summary of one node, owned by the CLI)."""

    def node_flag(p: argparse.ArgumentParser, default: str = "440000") -> None:
        p.add_argument("--node", default=default, help="node whose local ports are the default")

    p = sub.add_parser("register", help="register a person at a node's identity service")
    node_flag(p)
    p.add_argument("--identity", help="identity address host:port")
    p.add_argument("--email", default="")
    p.add_argument("--mobile", default="")
    p.add_argument("--password", required=True)
    p.add_argument("--name", default="普惠用户")
    p.set_defaults(func=cmd_register)

    p = sub.add_parser("signin", help="sign in; the token is saved for the other commands")
    node_flag(p)
    p.add_argument("--identity", help="identity address host:port")
    p.add_argument("--login", required=True)
    p.add_argument("--password", required=True)
    p.set_defaults(func=cmd_signin)

    p = sub.add_parser("search", help="search institutions at a node, or nationally (--hub)")
    node_flag(p, "320000")
    p.add_argument("query", nargs="?", default="")
    p.add_argument("--catalog", help="catalog address host:port")
    p.add_argument("--hub", help="federation address of the hub: national search")
    p.add_argument("--region", default="")
    p.add_argument("--limit", type=int, default=10)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("match", help="service items matching an innovator profile")
    node_flag(p, "320000")
    p.add_argument("--catalog", help="catalog address host:port")
    p.add_argument("--region", default="")
    kinds = ["individual", "enterprise", "university", "research_institute"]
    p.add_argument("--type", default="enterprise", choices=kinds)
    p.add_argument("--ipc", action="append")
    p.add_argument("--needs", default="")
    p.add_argument("--limit", type=int, default=5)
    p.set_defaults(func=cmd_match)

    p = sub.add_parser("rate", help="rate a service case with its rating token")
    node_flag(p, "320000")
    p.add_argument("--feedback", help="feedback address host:port")
    p.add_argument("--rating-token", required=True)
    p.add_argument("--level", choices=sorted(LEVELS), default="satisfied")
    p.add_argument(
        "--stage", choices=["acceptance", "handling", "completion"], default="completion"
    )
    p.add_argument("--comment", default="")
    p.add_argument("--real-name", action="store_true")
    p.set_defaults(func=cmd_rate)

    node = sub.add_parser("node", help="federation membership of a node").add_subparsers(
        dest="action", required=True
    )
    p = node.add_parser("join", help="register this node at the hub (one command)")
    p.add_argument("--hub", help="hub federation address host:port (default: local)")
    p.add_argument("--node", required=True, help="this node's GB/T 2260 province code")
    p.add_argument("--name", default="")
    p.add_argument("--identity", help="this node's identity address (its keys are read there)")
    p.add_argument("--jwks-file", help="the node's public JWK Set, instead of --identity")
    p.add_argument("--endpoint", action="append", help="SERVICE=HOST:PORT (repeat)")
    p.add_argument("--join-code", default="", help="one-time code from the hub operator")
    p.set_defaults(func=cmd_node_join)
    p = node.add_parser("federation", help="the federation as the hub sees it")
    p.add_argument("--hub", help="hub federation address host:port (default: local)")
    p.set_defaults(func=cmd_node_status)
    if add_status is not None:
        add_status(
            node.add_parser(
                "status",
                help="this node's services: health, versions, lag, outbox, replication, mirrors",
            )
        )


def run(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return func(args)
    except CliError as exc:
        print(str(exc), file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="puhui")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return run(args.func, args)

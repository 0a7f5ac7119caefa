"""Client commands of the `puhui` CLI: register, signin, search, match, rate, node join /
federation. Every address defaults to the local federation of `make run` (`puhui run`):
the node is --node, else $PUHUI_NODE, else the province of --region when it is one of the
local nodes, else 440000; its ports are those `make run` prints (`puhui.federation.local`).

    puhui node join --hub 10.0.0.1:30055 --node 440000 --identity 127.0.0.1:30061 \\
        --endpoint catalog=gd.example.cn:443 ... --join-code pjc_...

Every command takes --json (one JSON object on stdout; errors as one JSON object on stderr);
every failure is one line with the reason and the trace id, and the exit codes are those of
`puhui.federation.clikit`. Passwords come from --password-file, PUHUI_PASSWORD or a prompt.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict

from puhui.federation import clikit
from puhui.federation.clikit import CliError, call, emit
from puhui.federation.local import HUB, NODES, port

DEFAULT_NODE = "440000"
LEVELS = (
    "very_satisfied",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
    "very_dissatisfied",
)


def as_dict(message: Any) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True)


def node_of(args: argparse.Namespace) -> str:
    """--node, else $PUHUI_NODE, else the local node of --region's province, else 440000."""
    if getattr(args, "node", None):
        return str(args.node)
    if os.environ.get("PUHUI_NODE"):
        return os.environ["PUHUI_NODE"]
    region = getattr(args, "region", "") or ""
    province = f"{region[:2]}0000" if len(region) >= 2 else ""
    return province if province in NODES and province != HUB else DEFAULT_NODE


def _addr(args: argparse.Namespace, service: str, flag: str) -> str:
    given = getattr(args, flag, None)
    return str(given) if given else f"127.0.0.1:{port(node_of(args), service)}"


# -- identity -------------------------------------------------------------------------------
def cmd_register(args: argparse.Namespace) -> int:
    from puhui.identity.v1 import identity_pb2, identity_pb2_grpc

    if not args.email and not args.mobile:
        raise CliError("register: give --email or --mobile (the login)", clikit.USAGE)
    secret = clikit.password(args.password_file, prompt="Choose a password: ")
    person = call(
        _addr(args, "identity", "identity"),
        identity_pb2_grpc.IdentityServiceStub,
        "RegisterPerson",
        identity_pb2.RegisterPersonRequest(
            display_name=args.name, email=args.email, mobile=args.mobile, password=secret
        ),
        what="register",
    ).person
    emit(args.json, {"person": as_dict(person)},
         [f"registered {person.person_id} at node {person.home_node}"])  # fmt: skip
    return 0


def cmd_signin(args: argparse.Namespace) -> int:
    from puhui.identity.v1 import identity_pb2, identity_pb2_grpc

    address = _addr(args, "identity", "identity")
    secret = clikit.password(args.password_file)
    session = call(
        address,
        identity_pb2_grpc.IdentityServiceStub,
        "SignIn",
        identity_pb2.SignInRequest(login=args.login, password=secret),
        what="sign in",
    )
    path = clikit.save_session(
        clikit.Session(
            session.access_token,
            session.refresh_token,
            time.time() + session.expires_in_seconds,
            address,
            session.person.person_id,
        )
    )
    result = {
        "person_id": session.person.person_id,
        "home_node": session.person.home_node,
        "expires_in_seconds": session.expires_in_seconds,
        "session_file": str(path),
    }
    emit(args.json, result, [
        f"signed in as {session.person.person_id} at node {session.person.home_node}",
        f"session saved to {path}; the other commands use it and refresh it on their own",
    ])  # fmt: skip
    return 0


def cmd_signout(args: argparse.Namespace) -> int:
    from puhui.identity.v1 import identity_pb2, identity_pb2_grpc

    session = clikit.load_session()
    if session is not None:
        try:
            call(
                session.identity,
                identity_pb2_grpc.IdentityServiceStub,
                "SignOut",
                identity_pb2.SignOutRequest(refresh_token=session.refresh_token),
                token=session.access_token,
                what="sign out",
            )
        except CliError as exc:  # the local session goes anyway; the tokens expire
            clikit.note(str(exc))
        clikit.session_file().unlink(missing_ok=True)
    emit(args.json, {"signed_out": session is not None},
         ["signed out" if session else "not signed in"])  # fmt: skip
    return 0


# -- catalog --------------------------------------------------------------------------------
def cmd_search(args: argparse.Namespace) -> int:
    if args.hub:
        from puhui.federation.v1 import federation_pb2 as fpb
        from puhui.federation.v1 import federation_pb2_grpc

        where = f"the national catalog at {args.hub}"
        found = clikit.with_token(lambda token: call(
            args.hub,
            federation_pb2_grpc.FederationServiceStub,
            "SearchNationalCatalog",
            fpb.SearchNationalCatalogRequest(
                query=args.query, region_code=args.region, page_size=args.limit
            ),
            token=token,
            what="national search",
        ))  # fmt: skip
    else:
        from puhui.catalog.v1 import catalog_pb2, catalog_pb2_grpc

        where = f"node {node_of(args)}" if not args.catalog else args.catalog
        found = clikit.with_token(lambda token: call(
            _addr(args, "catalog", "catalog"),
            catalog_pb2_grpc.CatalogServiceStub,
            "SearchInstitutions",
            catalog_pb2.SearchInstitutionsRequest(
                query=args.query, region_code=args.region, page_size=args.limit
            ),
            token=token,
            what="search",
        ))  # fmt: skip
    lines = [f"{found.total_size} institutions at {where}"]
    lines += [
        f"  {inst.institution_id:<16} {inst.region_code}  {inst.name}"
        for inst in found.institutions
    ]
    emit(args.json, as_dict(found) | {"total_size": found.total_size}, lines)
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    from puhui.catalog.v1 import catalog_pb2, catalog_pb2_grpc

    profile = catalog_pb2.InnovatorProfile(
        region_code=args.region,
        innovator_type=f"INNOVATOR_TYPE_{args.type.upper()}",
        ipc_fields=args.ipc or [],
        needs_text=args.needs,
    )
    node = node_of(args)
    result = clikit.with_token(lambda token: call(
        _addr(args, "catalog", "catalog"),
        catalog_pb2_grpc.CatalogServiceStub,
        "Match",
        catalog_pb2.MatchRequest(profile=profile, max_results=args.limit),
        token=token,
        what="match",
    ))  # fmt: skip
    lines = []
    for m in result.matches:
        lines.append(f"{m.score:6.2f}  {m.item.name}  @ {m.institution.name}")
        lines += [f"          + {reason}" for reason in m.reasons]
        lines += [f"          - {gap}" for gap in m.gaps]
    if not result.matches:
        where = args.catalog or f"node {node}"
        lines.append(f"no matching service items at {where}")
        province = f"{args.region[:2]}0000" if args.region else ""
        if province and not args.catalog and province != node:
            lines.append(f"  region {args.region} is in province {province}: try --node {province}")
    emit(args.json, {"matches": [as_dict(m) for m in result.matches], "node": node}, lines)
    return 0


def cmd_patents(args: argparse.Namespace) -> int:
    from puhui.data.v1 import data_pb2, data_pb2_grpc

    found = clikit.with_token(lambda token: call(
        _addr(args, "data", "data"),
        data_pb2_grpc.DataServiceStub,
        "SearchPatents",
        data_pb2.SearchPatentsRequest(
            query=args.query, ipc_prefix=args.ipc, region_code=args.region, page_size=args.limit
        ),
        token=token,
        what="patents",
    ))  # fmt: skip
    where = args.data or f"node {node_of(args)}"
    lines = [f"{found.total_size} patents at {where}"]
    lines += [
        f"  {p.application_number or p.publication_number:<18} "
        f"{(p.ipc_codes or [''])[0]:<12} {p.title[:60]}"
        for p in found.patents
    ]
    emit(args.json, as_dict(found) | {"total_size": found.total_size}, lines)
    return 0


# -- feedback -------------------------------------------------------------------------------
def cmd_rate(args: argparse.Namespace) -> int:
    from puhui.feedback.v1 import feedback_pb2, feedback_pb2_grpc

    rating = clikit.with_token(lambda token: call(
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
        token=token,
        what="rate",
    ))  # fmt: skip
    lines = [f"rating {rating.rating_id} recorded at node {rating.node_id}"]
    if rating.ticket_id:
        lines.append(f"rectification ticket {rating.ticket_id} opened")
    emit(args.json, {"rating": as_dict(rating)}, lines)
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
            raise CliError(
                f"node join: cannot read {args.jwks_file}: {exc.strerror}", clikit.USAGE
            ) from None
        except ValueError:
            raise CliError(
                f"node join: {args.jwks_file} is not valid JSON (a JWK Set)", clikit.USAGE
            ) from None
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
            f"not {args.node}; check --identity or PUHUI_NODE_ID there",
            clikit.USAGE,
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
        raise CliError(f"node join: --node {args.node}: {v.items[0].description}", clikit.USAGE)
    endpoints = []
    for spec in args.endpoint or ():
        service, _, address = spec.partition("=")
        if service not in domain.SERVICES or not domain.ADDRESS_RE.match(address):
            raise CliError(
                f"node join: --endpoint {spec!r}: expected SERVICE=HOST:PORT", clikit.USAGE
            )
        endpoints.append(fpb.Endpoint(service=service, address=address))
    if not endpoints and not args.hub:  # the local federation
        endpoints = [
            fpb.Endpoint(service=s, address=f"127.0.0.1:{port(args.node, s)}")
            for s in ("identity", "catalog", "data", "feedback")
        ]
    jwks = _jwks_for_join(args)
    hub = _hub(args)
    node = clikit.with_token(lambda token: call(
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
        token=token if not args.join_code else None,
        what=f"node join ({args.node} at hub {hub})",
    ))  # fmt: skip
    keys = len(json.loads(node.jwks_json).get("keys", []))
    emit(args.json, {"node": as_dict(node)}, [
        f"node {node.node_id} {node.name} joined the federation (revision {node.revision}, "
        f"{keys} key(s) signed by the hub); other nodes accept its tokens within seconds"
    ])  # fmt: skip
    return 0


def cmd_node_federation(args: argparse.Namespace) -> int:
    from puhui.federation.v1 import federation_pb2 as fpb
    from puhui.federation.v1 import federation_pb2_grpc

    hub = _hub(args)
    status = call(
        hub,
        federation_pb2_grpc.FederationServiceStub,
        "GetFederationStatus",
        fpb.GetFederationStatusRequest(),
        what="node federation",
    )
    names = {1: "active", 2: "removed"}
    lines = [f"hub {hub}: {status.hub_data_records} data records at the hub"]
    # mirror: records mirrored / records at the hub; "= hub" once every data set's count
    # and content hash equal the hub's.
    lines.append(f"{'node':<7} {'status':<8} {'events':>8} {'lag s':>7} {'mirror':>12}  name")
    for p in status.provinces:
        mirror = "n/a" if p.mirror_completeness < 0 else f"{p.mirror_completeness:.0%}"
        if p.mirror_in_sync:
            mirror += " = hub"
        lines.append(f"{p.node_id:<7} {names.get(p.status, '?'):<8} {p.events_applied:>8} "
                     f"{p.last_lag_seconds:>7.2f} {mirror:>12}  {p.name}")  # fmt: skip
    emit(args.json, as_dict(status), lines)
    return 0


# -- the parser ------------------------------------------------------------------------------
def _common(p: argparse.ArgumentParser, service: str | None = None) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object")
    clikit.add_tls_options(p)
    if service is None:
        return
    p.add_argument(
        "--node",
        help=f"node whose local port is the default (default: $PUHUI_NODE, else the local "
        f"node of --region's province, else {DEFAULT_NODE})",
    )
    p.add_argument(
        f"--{service}",
        metavar="HOST:PORT",
        help=f"{service} address (default: the node's port under `make run`: 127.0.0.1:"
        f"{port(DEFAULT_NODE, service)} for {DEFAULT_NODE}, {port('320000', service)} for "
        "320000)",
    )


def add_commands(
    sub: Any, add_status: Callable[[argparse.ArgumentParser], None] | None = None
) -> None:
    """Register the client commands on the `puhui` CLI's subparsers; `add_status` fills in
    `puhui node status` (the operator's summary of one node, owned by the CLI)."""
    epilog = clikit.EXIT_CODES_HELP
    fmt = clikit.HelpFormatter

    def parser(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=epilog,
            formatter_class=fmt,
            allow_abbrev=False,
        )

    pw_help = "file holding the password ('-': stdin); else $PUHUI_PASSWORD, else a prompt"
    p = parser("register", "register a person at a node's identity service")
    _common(p, "identity")
    p.add_argument("--email", default="")
    p.add_argument("--mobile", default="")
    p.add_argument("--password-file", metavar="FILE", help=pw_help)
    p.add_argument("--password", action=clikit.RefusePassword, help=argparse.SUPPRESS)
    p.add_argument("--name", default="普惠用户", help="display name")
    p.set_defaults(func=cmd_register)

    p = parser("signin", "sign in; the session is saved and refreshed for the other commands")
    _common(p, "identity")
    p.add_argument("--login", required=True, help="e-mail or mobile number")
    p.add_argument("--password-file", metavar="FILE", help=pw_help)
    p.add_argument("--password", action=clikit.RefusePassword, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_signin)

    p = parser("signout", "end the saved session (its refresh tokens are revoked)")
    _common(p)
    p.set_defaults(func=cmd_signout)

    p = parser("search", "search institutions at a node, or nationally (--hub)")
    _common(p, "catalog")
    p.add_argument("query", nargs="?", default="", help="words of the name or description")
    p.add_argument("--hub", metavar="HOST:PORT", help="the hub's federation address: national")
    p.add_argument("--region", default="", help="GB/T 2260 code, e.g. 440300")
    p.add_argument("--limit", type=int, default=10, help="at most this many")
    p.set_defaults(func=cmd_search)

    p = parser("match", "service items matching an innovator profile and free-text needs")
    _common(p, "catalog")
    p.add_argument("--region", default="", help="the innovator's GB/T 2260 code, e.g. 440300")
    kinds = ["individual", "enterprise", "university", "research_institute"]
    p.add_argument("--type", default="enterprise", choices=kinds, help="innovator type")
    p.add_argument("--ipc", action="append", help="IPC field, e.g. G06F (repeat)")
    p.add_argument("--needs", default="", help="what the innovator needs, in words")
    p.add_argument("--limit", type=int, default=5, help="at most this many")
    p.set_defaults(func=cmd_match)

    p = parser("patents", "search the patent records of a node's data service (the hub's mirror)")
    _common(p, "data")
    p.add_argument("query", nargs="?", default="", help="words of the title or abstract")
    p.add_argument("--ipc", default="", help="IPC prefix, e.g. H01M")
    p.add_argument("--region", default="", help="applicant's GB/T 2260 code")
    p.add_argument("--limit", type=int, default=10, help="at most this many")
    p.set_defaults(func=cmd_patents)

    p = parser("rate", "rate a service case with its rating token")
    _common(p, "feedback")
    p.add_argument("--rating-token", required=True, help="the token given when the case closed")
    p.add_argument("--level", choices=sorted(LEVELS), default="satisfied", help="how it went")
    p.add_argument(
        "--stage",
        choices=["acceptance", "handling", "completion"],
        default="completion",
        help="the case stage rated",
    )
    p.add_argument("--comment", default="")
    p.add_argument("--real-name", action="store_true", help="rate under your name")
    p.set_defaults(func=cmd_rate)

    node = parser("node", "federation membership of a node").add_subparsers(
        dest="action", required=True
    )
    hub_help = f"hub federation address (default: 127.0.0.1:{port(HUB, 'federation')})"
    p = node.add_parser("join", help="register this node at the hub (one command)", epilog=epilog)
    _common(p)
    p.add_argument("--hub", metavar="HOST:PORT", help=hub_help)
    p.add_argument("--node", required=True, help="this node's GB/T 2260 province code")
    p.add_argument("--name", default="")
    p.add_argument("--identity", help="this node's identity address (its keys are read there)")
    p.add_argument("--jwks-file", help="the node's public JWK Set, instead of --identity")
    p.add_argument("--endpoint", action="append", help="SERVICE=HOST:PORT (repeat)")
    p.add_argument("--join-code", default="", help="one-time code from the hub operator")
    p.set_defaults(func=cmd_node_join)
    p = node.add_parser("federation", help="the federation as the hub sees it", epilog=epilog)
    _common(p)
    p.add_argument("--hub", metavar="HOST:PORT", help=hub_help)
    p.set_defaults(func=cmd_node_federation)
    from puhui.federation.admincli import add_admin_commands

    add_admin_commands(node, _common, _hub, epilog)
    if add_status is not None:
        add_status(
            node.add_parser(
                "status",
                help="this node's services: health, versions, lag, outbox, replication, mirrors",
                formatter_class=fmt,
            )
        )


def run(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        clikit.configure_tls(args)
        return func(args)
    except CliError as exc:
        return clikit.report(exc, bool(getattr(args, "json", False)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="puhui")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return run(args.func, args)

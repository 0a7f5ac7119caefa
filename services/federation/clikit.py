"""What every `puhui` client command shares: calls with a trace id, one-line errors, exit
codes, the saved session (refreshed on its own), passwords, and `--json` output.

Exit codes (the same for every command):

    0  done
    1  the service answered with an error (not found, failed precondition, internal, ...)
    2  bad input: a usage error, a missing password, or INVALID_ARGUMENT from the service
    3  not signed in or not allowed (UNAUTHENTICATED, PERMISSION_DENIED)
    4  the service cannot be reached (UNAVAILABLE, DEADLINE_EXCEEDED)
    130 interrupted (Ctrl-C)
"""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import os
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import grpc

from puhui.federation.local import state_dir

OK, FAILED, USAGE, UNAUTHORISED, UNREACHABLE, INTERRUPTED = 0, 1, 2, 3, 4, 130
EXIT_CODES_HELP = (
    "exit codes: 0 done; 1 the service answered with an error; 2 bad input (usage, missing "
    "password, INVALID_ARGUMENT); 3 not signed in or not allowed; 4 service unreachable; "
    "130 interrupted"
)
_EXIT_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: USAGE,
    grpc.StatusCode.UNAUTHENTICATED: UNAUTHORISED,
    grpc.StatusCode.PERMISSION_DENIED: UNAUTHORISED,
    grpc.StatusCode.UNAVAILABLE: UNREACHABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED: UNREACHABLE,
}
REFRESH_MARGIN_SECONDS = 30


class CliError(Exception):
    """A failure to report in one line, with its exit code and what the caller can use."""

    def __init__(
        self,
        message: str,
        exit_code: int = FAILED,
        *,
        code: str = "",
        reason: str = "",
        trace_id: str = "",
        fields: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.code = code
        self.reason = reason
        self.trace_id = trace_id
        self.fields = fields or {}

    def as_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "message": str(self),
                "exit_code": self.exit_code,
                "code": self.code,
                "reason": self.reason,
                "trace_id": self.trace_id,
                "fields": self.fields,
            }
        }


# -- calls ------------------------------------------------------------------------------------
def language() -> str:
    """The caller's language for the services' human texts: PUHUI_LANG, else LANG (en_* is
    English), else Chinese."""
    chosen = os.environ.get("PUHUI_LANG") or os.environ.get("LANG", "")
    return "en" if chosen.lower().startswith("en") else "zh-CN"


def _details(exc: grpc.RpcError) -> tuple[str, dict[str, str], str]:
    """The ErrorInfo reason, the BadRequest field violations and a trace id the server put
    in the ErrorInfo metadata, when the status carries them."""
    reason, trace_id = "", ""
    fields: dict[str, str] = {}
    try:
        from google.rpc import error_details_pb2
        from grpc_status import rpc_status

        status = rpc_status.from_call(exc)  # type: ignore[arg-type]
    except (ValueError, ImportError):  # a malformed status: the code and message suffice
        return reason, fields, trace_id
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields.update({v.field: v.description for v in bad.field_violations})
        elif detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
            trace_id = info.metadata.get("trace_id", "")
    return reason, fields, trace_id


def describe(exc: grpc.RpcError, what: str, address: str, trace_id: str) -> CliError:
    code = exc.code()
    exit_code = _EXIT_BY_CODE.get(code, FAILED)
    if exit_code == UNREACHABLE:
        return CliError(
            f"{what}: cannot reach {address} ({code.name}); is it running? "
            f"(`make run` starts the local federation) (trace {trace_id})",
            exit_code,
            code=code.name,
            trace_id=trace_id,
        )
    reason, fields, server_trace = _details(exc)
    trace_id = server_trace or trace_id
    message = " ".join((exc.details() or "").split())
    extra = f" [{'; '.join(f'{k}: {v}' for k, v in fields.items())}]" if fields else ""
    because = f" ({reason})" if reason and reason != code.name else ""
    return CliError(
        f"{what}: {code.name}{because}: {message}{extra} (trace {trace_id})",
        exit_code,
        code=code.name,
        reason=reason or code.name,
        trace_id=trace_id,
        fields=fields,
    )


# -- transport security ---------------------------------------------------------------------
# Deployed nodes require mutual TLS (their PUHUI_TLS_CLIENT_CA_FILE): the operator's client
# certificate, issued under the node's or the federation's CA, and the CA that signed the
# server's. Each option falls back to its environment variable.
TLS_OPTIONS = {  # option -> (environment variable, help)
    "tls_ca": (
        "PUHUI_CLI_TLS_CA_FILE",
        "CA certificate (PEM) that signed the servers'; enables TLS",
    ),
    "tls_cert": ("PUHUI_CLI_TLS_CERT_FILE", "client certificate (PEM) for mutual TLS"),
    "tls_key": ("PUHUI_CLI_TLS_KEY_FILE", "client private key (PEM) for mutual TLS"),
    "tls_server_name": (
        "PUHUI_CLI_TLS_SERVER_NAME",
        "name the server certificate must carry when it differs from the address's host",
    ),
}


@dataclass(frozen=True)
class ClientTLS:
    ca: str = ""
    cert: str = ""
    key: str = ""
    server_name: str = ""


_tls = ClientTLS()  # what configure_tls() read for this command; plaintext until then


def add_tls_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("transport security (mutual TLS to a deployed node)")
    for dest, (env, text) in TLS_OPTIONS.items():
        group.add_argument(
            "--" + dest.replace("_", "-"), dest=dest, metavar="FILE" if "file" in env.lower()
            else "NAME", help=f"{text} (default: ${env})",
        )  # fmt: skip


def configure_tls(args: argparse.Namespace) -> ClientTLS:
    """Read the command's TLS options (else their environment variables) for every call it
    makes; a missing file or a half-given client identity is a usage error."""
    global _tls
    given = {
        dest: getattr(args, dest, None) or os.environ.get(env, "")
        for dest, (env, _) in TLS_OPTIONS.items()
    }
    tls = ClientTLS(given["tls_ca"], given["tls_cert"], given["tls_key"], given["tls_server_name"])
    if bool(tls.cert) != bool(tls.key):
        raise CliError("mutual TLS needs both --tls-cert and --tls-key", USAGE)
    if (tls.cert or tls.server_name) and not tls.ca:
        raise CliError("TLS needs --tls-ca (the CA that signed the server's certificate)", USAGE)
    for option, path in (("--tls-ca", tls.ca), ("--tls-cert", tls.cert), ("--tls-key", tls.key)):
        if path and not Path(path).is_file():
            raise CliError(f"{option}: no such file {path}", USAGE)
    _tls = tls
    return tls


def open_channel(address: str) -> grpc.Channel:
    """A channel to `address`: TLS (mutual with a client certificate) when configured."""
    if not _tls.ca:
        return grpc.insecure_channel(address)
    from puhui.kit.tls import secure_channel

    return secure_channel(
        address,
        _tls.ca,
        _tls.cert or None,
        _tls.key or None,
        server_name=_tls.server_name or None,
    )


def call(address: str, stub_factory: Callable[[grpc.Channel], Any], method: str, request: Any,
         *, token: str | None = None, what: str = "", timeout: float = 10.0) -> Any:  # fmt: skip
    """One unary call with a fresh W3C trace id (quoted in the error line), the caller's
    language and the bearer token if any."""
    trace_id = secrets.token_hex(16)
    metadata = [
        ("traceparent", f"00-{trace_id}-{secrets.token_hex(8)}-01"),
        ("accept-language", language()),
    ]
    if token:
        metadata.append(("authorization", f"Bearer {token}"))
    with open_channel(address) as channel:
        try:
            return getattr(stub_factory(channel), method)(
                request, timeout=timeout, metadata=metadata
            )
        except grpc.RpcError as exc:
            raise describe(exc, what or method, address, trace_id) from None


# -- the saved session --------------------------------------------------------------------------
@dataclass
class Session:
    access_token: str
    refresh_token: str
    expires_at: float
    identity: str  # the identity address that issued it (refreshes go there)
    person_id: str = ""


def session_file() -> Path:
    return state_dir() / "cli" / "session.json"


def save_session(session: Session) -> Path:
    path = session_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(asdict(session), fh)
    return path


def load_session() -> Session | None:
    path = session_file()
    try:
        return Session(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def jwt_expiry(token: str) -> float:
    """The `exp` of a JWT, read without verifying it (the services verify); 0 if unreadable."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims.get("exp", 0))
    except (IndexError, ValueError, TypeError):
        return 0.0


def _refresh(session: Session) -> Session:
    from puhui.identity.v1 import identity_pb2, identity_pb2_grpc

    fresh = call(
        session.identity,
        identity_pb2_grpc.IdentityServiceStub,
        "RefreshTokens",
        identity_pb2.RefreshTokensRequest(refresh_token=session.refresh_token),
        what="refreshing the saved session",
    )
    renewed = Session(
        fresh.access_token,
        fresh.refresh_token or session.refresh_token,
        time.time() + fresh.expires_in_seconds,
        session.identity,
        session.person_id,
    )
    save_session(renewed)
    return renewed


def token(*, required: bool = False, force_refresh: bool = False) -> str | None:
    """The caller's access token: PUHUI_TOKEN as given, else the saved session, refreshed
    when it expires within 30 s. A session that can no longer be refreshed is dropped with a
    note: anonymous calls go on without it, signed-in ones fail with exit 3."""
    env = os.environ.get("PUHUI_TOKEN")
    if env:
        if jwt_expiry(env) and jwt_expiry(env) < time.time() and not required:
            note("PUHUI_TOKEN has expired; calling anonymously (puhui signin for a new one)")
            return None
        return env
    session = load_session()
    if session is None:
        if required:
            raise CliError("not signed in: run `puhui signin` first", UNAUTHORISED)
        return None
    if force_refresh or session.expires_at - REFRESH_MARGIN_SECONDS < time.time():
        try:
            session = _refresh(session)
        except CliError as exc:
            session_file().unlink(missing_ok=True)
            if required or exc.exit_code == UNREACHABLE:
                raise CliError(
                    f"the saved session has expired and could not be refreshed ({exc}); "
                    "run `puhui signin` again",
                    UNAUTHORISED if exc.exit_code != UNREACHABLE else UNREACHABLE,
                    trace_id=exc.trace_id,
                ) from None
            note("the saved session has expired; calling anonymously (puhui signin again)")
            return None
    return session.access_token


def with_token(attempt: Callable[[str | None], Any], *, required: bool = False) -> Any:
    """Run `attempt(token)`; on UNAUTHENTICATED with a saved session, refresh it once and retry
    (the service may have rejected a token just before its expiry)."""
    current = token(required=required)
    try:
        return attempt(current)
    except CliError as exc:
        if exc.code != "UNAUTHENTICATED" or current is None or os.environ.get("PUHUI_TOKEN"):
            raise
    return attempt(token(required=required, force_refresh=True))


# -- passwords --------------------------------------------------------------------------------
def password(file: str | None, *, prompt: str = "Password: ") -> str:
    """From --password-file (`-` reads stdin), else PUHUI_PASSWORD, else a prompt in a
    terminal; never from the command line (it would show in `ps` and shell history)."""
    if file:
        try:
            text = sys.stdin.read() if file == "-" else Path(file).read_text()
        except OSError as exc:
            raise CliError(f"cannot read the password file {file}: {exc.strerror}", USAGE) from None
        value = text.rstrip("\r\n")
    elif os.environ.get("PUHUI_PASSWORD"):
        value = os.environ["PUHUI_PASSWORD"]
    elif sys.stdin.isatty():
        value = getpass.getpass(prompt)
    else:
        raise CliError(
            "no password: give --password-file FILE (- for stdin) or set PUHUI_PASSWORD",
            USAGE,
        )
    if not value:
        raise CliError("the password is empty", USAGE)
    return value


class RefusePassword(argparse.Action):
    """`--password X` is refused with the ways that do not leak it to `ps` and history."""

    def __call__(self, parser: argparse.ArgumentParser, *_: Any, **__: Any) -> None:
        parser.error(
            "passwords are not taken as arguments (they would show in `ps` and shell "
            "history): use --password-file FILE (- for stdin), PUHUI_PASSWORD, or the prompt"
        )


class HelpFormatter(argparse.HelpFormatter):
    """Shows an option's default in --help when it has one worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, "", False, argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"


# -- output -----------------------------------------------------------------------------------
def note(text: str) -> None:
    print(f"note: {text}", file=sys.stderr)


def emit(as_json: bool, result: dict[str, Any], lines: list[str]) -> None:
    """A command's result: JSON (one object) with --json, else its text lines."""
    if as_json:
        print(json.dumps(result, ensure_ascii=False, sort_keys=True))
    else:
        for line in lines:
            print(line)


def report(exc: CliError, as_json: bool) -> int:
    print(json.dumps(exc.as_dict(), ensure_ascii=False) if as_json else str(exc), file=sys.stderr)
    return exc.exit_code

"""The HTTP front door of a node: builds and starts `puhui-gateway` (gateway/, Go).

`puhui-gateway` transcodes JSON/HTTP (the protos' `google.api.http` bindings), gRPC-Web and
Connect to the node's gRPC services with connectrpc.com/vanguard, from the descriptor set that
`make proto` writes (kit/api_descriptors.binpb). This module builds it and the document
generators pinned in gateway/go.mod (`tool` lines: gnostic's protoc-gen-openapi, protoc-gen-doc)
with the machine's Go toolchain from the Go module proxy into .state/bin, generates a node's
OpenAPI 3 document and API reference page from the protos, and gives the command line.

    python -m puhui.kit.gateway build     # binaries and documents (make gateway)
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "gateway"
PROTO_DIR = ROOT / "proto"
BIN_DIR = ROOT / ".state" / "bin"
DOCS_DIR = ROOT / ".state" / "gateway"
BINARY = BIN_DIR / "puhui-gateway"
TOOLS = {
    "protoc-gen-openapi": "github.com/google/gnostic/cmd/protoc-gen-openapi",
    "protoc-gen-doc": "github.com/pseudomuto/protoc-gen-doc/cmd/protoc-gen-doc",
}
# The protos whose services a node serves; the hub also serves federation.
NODE_PROTOS = (
    "puhui/identity/v1/identity.proto",
    "puhui/catalog/v1/catalog.proto",
    "puhui/data/v1/data.proto",
    "puhui/feedback/v1/feedback.proto",
)
HUB_PROTOS = (*NODE_PROTOS, "puhui/federation/v1/federation.proto")
# The gRPC services each of our apps serves (the gateway routes by service name).
SERVICE_NAMES = {
    "identity": ("puhui.identity.v1.IdentityService",),
    "catalog": ("puhui.catalog.v1.CatalogService",),
    "data": ("puhui.data.v1.DataService", "puhui.data.v1.ReferenceService"),
    "feedback": ("puhui.feedback.v1.FeedbackService",),
    "federation": ("puhui.federation.v1.FederationService",),
}


class GatewayError(RuntimeError):
    pass


def descriptors() -> Path:
    """The descriptor set the gateway transcodes from (written by `make proto`)."""
    return Path(str(resources.files("puhui.kit").joinpath("api_descriptors.binpb")))


def googleapis_include() -> Path:
    """The folder holding googleapis' `google/api/*.proto` (googleapis-common-protos), which
    protoc needs for the `google.api.http` annotations (make proto, make api-check, here)."""
    from google.api import annotations_pb2

    return Path(annotations_pb2.__file__).resolve().parents[2]


def _go() -> str:
    go = shutil.which("go") or next(
        (p for p in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go") if Path(p).exists()), None
    )
    if go is None:
        raise GatewayError("the gateway needs Go (1.26) to be built: `go` is not on PATH")
    return go


def _newest(paths: Sequence[Path]) -> float:
    return max(p.stat().st_mtime for p in paths)


def _oldest(paths: Sequence[Path]) -> float:
    return min(p.stat().st_mtime for p in paths)


def build() -> Path:
    """puhui-gateway and the document generators in .state/bin, rebuilt when gateway/ changed."""
    if not SOURCE.is_dir():
        raise GatewayError(f"{SOURCE} is missing: the gateway builds from a source checkout")
    sources = [*SOURCE.glob("*.go"), SOURCE / "go.mod", SOURCE / "go.sum"]
    targets = [BINARY, *(BIN_DIR / t for t in TOOLS)]
    if all(t.exists() for t in targets) and _oldest(targets) >= _newest(sources):
        return BINARY
    BIN_DIR.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-buildvcs=false -mod=readonly"}
    for output, package in ((BINARY, "."), *((BIN_DIR / t, m) for t, m in TOOLS.items())):
        result = subprocess.run(  # noqa: S603
            [_go(), "build", "-trimpath", "-o", str(output), package],
            cwd=SOURCE,
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=900,
        )
        if result.returncode != 0:
            raise GatewayError(f"building {output.name} failed:\n{result.stderr[-3000:]}")
    return BINARY


def documents(hub: bool) -> tuple[Path, Path]:
    """A node's OpenAPI 3 document and HTML API reference, generated from the protos' comments."""
    from grpc_tools import protoc

    build()
    protos = HUB_PROTOS if hub else NODE_PROTOS
    out = DOCS_DIR / ("hub" if hub else "node")
    openapi, reference = out / "openapi.yaml", out / "reference.html"
    inputs = [*PROTO_DIR.rglob("*.proto"), *(BIN_DIR / t for t in TOOLS)]
    if openapi.exists() and reference.exists() and _oldest((openapi, reference)) >= _newest(inputs):
        return openapi, reference
    out.mkdir(parents=True, exist_ok=True)
    # gnostic wants a Go package per file; the names only matter to Go code generators.
    go_packages = ",".join(
        f"M{p.relative_to(PROTO_DIR)}=puhui/{p.relative_to(PROTO_DIR).parent}"
        for p in sorted(PROTO_DIR.rglob("*.proto"))
    )
    title = "Puhui hub API" if hub else "Puhui node API"
    args = [
        "protoc",
        f"-I{PROTO_DIR}",
        f"-I{resources.files('grpc_tools') / '_proto'}",
        f"-I{googleapis_include()}",
        f"--plugin=protoc-gen-openapi={BIN_DIR / 'protoc-gen-openapi'}",
        f"--openapi_out={out}",
        f"--openapi_opt=title={title},version=v1,enum_type=string,default_response=true,"
        + go_packages,
        f"--plugin=protoc-gen-doc={BIN_DIR / 'protoc-gen-doc'}",
        f"--doc_out={out}",
        "--doc_opt=html,reference.html",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise GatewayError("generating the OpenAPI document failed (see protoc's message above)")
    openapi.write_text(_plain_path_names(openapi.read_text()))
    return openapi, reference


def _plain_path_names(document: str) -> str:
    """`{institution.institution_id}` → `{institution_institution_id}` in paths and parameters.

    gnostic names a path parameter after its field path; OpenAPI allows the dot, but URI
    template tools (schemathesis among them) read `{a.b}` as attribute access. The URL each
    path matches is the same."""
    for name in sorted(set(re.findall(r"\{(\w+(?:\.\w+)+)\}", document))):
        plain = name.replace(".", "_")
        document = document.replace("{" + name + "}", "{" + plain + "}")
        document = document.replace(f"- name: {name}\n", f"- name: {plain}\n")
    return document


def upstreams(addresses: Mapping[str, str]) -> dict[str, str]:
    """App name → host:port (identity, catalog …) to gRPC service name → host:port."""
    return {name: address for app, address in addresses.items() for name in SERVICE_NAMES[app]}


def command(
    listen: str,
    upstreams: Mapping[str, str],
    *,
    hub: bool = False,
    cors_origins: Sequence[str] = (),
    portal: Path | None = None,
) -> list[str]:
    """The gateway's command line: `upstreams` maps full service names to host:port."""
    openapi, reference = documents(hub)
    argv = [str(build()), "-listen", listen, "-descriptors", str(descriptors())]
    argv += ["-openapi", str(openapi), "-reference", str(reference)]
    for service, address in upstreams.items():
        argv += ["-upstream", f"{service}={address}"]
    for origin in cors_origins:
        argv += ["-cors-origin", origin]
    if portal is not None:
        argv += ["-portal", str(portal)]
    return argv


class Serving(NamedTuple):
    url: str  # http://host:port
    pid: int


@contextlib.contextmanager
def serving(
    argv: Sequence[str], *, log: Path | None = None, timeout: float = 30.0
) -> Iterator[Serving]:
    """Run the gateway (`command(...)`) until the block ends, from when it answers."""
    listen = argv[argv.index("-listen") + 1]
    url = f"http://{listen}"
    out = log.open("ab") if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(argv, stdout=out, stderr=out)  # noqa: S603
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise GatewayError(f"puhui-gateway exited with {proc.returncode} (log: {log})")
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1) as reply:  # noqa: S310
                    if reply.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise GatewayError(f"puhui-gateway not answering on {url}") from None
                time.sleep(0.1)
        yield Serving(url, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log is not None and not isinstance(out, int):
            out.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args != ["build"]:
        print(__doc__)
        return 2
    try:
        print(build())
        for hub in (False, True):
            print(*documents(hub))
    except GatewayError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

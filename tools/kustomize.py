"""Build kustomize into .state/bin from the Go module proxy, with the machine's Go toolchain.

    python tools/kustomize.py            # print the path, building it first if missing
    python tools/kustomize.py build DIR  # run `kustomize build DIR`

kustomize is pinned (KUSTOMIZE_VERSION) to a release whose module graph builds with Go 1.26:
`go install sigs.k8s.io/kustomize/kustomize/v5@v5.8.0` (kustomize/api v0.21.0). The first build
takes a minute or two; afterwards the binary is reused while its version matches.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KUSTOMIZE_VERSION = "v5.8.0"
MODULE = "sigs.k8s.io/kustomize/kustomize/v5"
BIN_DIR = ROOT / ".state" / "bin"


class ToolError(RuntimeError):
    pass


def _version(binary: Path) -> str:
    try:
        out = subprocess.run(  # noqa: S603
            [str(binary), "version"], capture_output=True, text=True, check=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def ensure() -> Path:
    """The kustomize binary of the pinned version, built into .state/bin when missing."""
    binary = BIN_DIR / "kustomize"
    if binary.exists() and _version(binary) == KUSTOMIZE_VERSION:
        return binary
    go = shutil.which("go") or next(
        (p for p in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go") if Path(p).exists()), None
    )
    if go is None:
        raise ToolError("kustomize needs Go (1.26 is enough) to be built: `go` is not on PATH")
    BIN_DIR.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "GOBIN": str(BIN_DIR),
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-buildvcs=false",
    }
    result = subprocess.run(  # noqa: S603
        [go, "install", f"{MODULE}@{KUSTOMIZE_VERSION}"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=900,
    )
    if result.returncode != 0 or _version(binary) != KUSTOMIZE_VERSION:
        raise ToolError(f"building kustomize {KUSTOMIZE_VERSION} failed:\n{result.stderr[-3000:]}")
    return binary


def build(path: str | Path) -> str:
    """`kustomize build PATH`: the rendered manifests as one YAML stream."""
    result = subprocess.run(  # noqa: S603
        [str(ensure()), "build", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise ToolError(f"kustomize build {path} failed:\n{result.stderr}")
    return result.stdout


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["build"] and len(argv) == 2:
            sys.stdout.write(build(argv[1]))
        elif not argv:
            print(ensure())
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except ToolError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

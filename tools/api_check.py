"""API stability: `buf lint` on proto/, `buf breaking` against the previous main (make api-check).

Both run on images (FileDescriptorSets) built by protoc with the includes `make proto` uses, so
buf needs no registry to resolve googleapis' imports:

- this checkout's proto/ → lint (rules in buf.yaml) and the new side of breaking;
- the base's proto/ (`git archive BASE proto`) → the old side. A breaking change within a
  package fails: it needs a new package version (puhui.<service>.v2) instead.

BASE is `PUHUI_API_BASE` when set, else on branch main the commit before HEAD (the previous
main), else the merge-base of HEAD with main (or origin/main). A shallow clone (CI) may lack
that commit: the script fetches it (`git fetch --deepen` / `git fetch origin main`) and, if
it still cannot be found, stops with a message naming PUHUI_API_BASE; it never passes silently.

    python tools/api_check.py
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

from puhui.kit.gateway import googleapis_include

ROOT = Path(__file__).resolve().parent.parent
BUF = Path(sys.executable).parent / "buf"


class CheckError(RuntimeError):
    pass


def git(*args: str, check: bool = True) -> str:
    result = subprocess.run(  # noqa: S603
        ["git", *args],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and result.returncode != 0:
        raise CheckError(f"git {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout.strip() if result.returncode == 0 else ""


def has_commit(ref: str) -> bool:
    return bool(git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False))


def base_ref() -> str:
    explicit = os.environ.get("PUHUI_API_BASE", "")
    if explicit:
        if not has_commit(explicit):
            git("fetch", "--quiet", "origin", explicit, check=False)
            if not has_commit(explicit) and not has_commit("FETCH_HEAD"):
                raise CheckError(f"PUHUI_API_BASE={explicit} is not a commit of this clone")
            return explicit if has_commit(explicit) else "FETCH_HEAD"
        return explicit
    shallow = git("rev-parse", "--is-shallow-repository", check=False) == "true"
    if git("rev-parse", "--abbrev-ref", "HEAD", check=False) == "main":
        if not has_commit("HEAD~1") and shallow:
            git("fetch", "--quiet", "--deepen=1", check=False)
        if not has_commit("HEAD~1"):
            raise CheckError(
                "the previous main (HEAD~1) is not in this clone: fetch more history "
                "(git fetch --deepen=1) or set PUHUI_API_BASE to the commit to compare with"
            )
        return "HEAD~1"
    for main in ("main", "origin/main"):
        if has_commit(main):
            base = git("merge-base", "HEAD", main, check=False)
            if base:
                return base
    # A shallow clone or one without main: fetch main and the history to reach it.
    if shallow:
        git("fetch", "--quiet", "--unshallow", check=False)
    git("fetch", "--quiet", "origin", "main:refs/remotes/origin/main", check=False)
    if has_commit("origin/main"):
        base = git("merge-base", "HEAD", "origin/main", check=False)
        if base:
            return base
    raise CheckError(
        "no main to compare with: neither main nor origin/main shares history with HEAD "
        "(a shallow clone? fetch main with its history) — or set PUHUI_API_BASE"
    )


def image(proto_dir: Path, target: Path) -> Path:
    """Every proto under proto_dir as one FileDescriptorSet with imports and source info."""
    files = sorted(str(p.relative_to(proto_dir)) for p in proto_dir.rglob("*.proto"))
    args = [
        "protoc",
        f"-I{proto_dir}",
        f"-I{resources.files('grpc_tools') / '_proto'}",
        f"-I{googleapis_include()}",
        "--include_imports",
        "--include_source_info",
        f"--descriptor_set_out={target}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise CheckError(f"protoc failed on {proto_dir}")
    return target


def buf(*args: str) -> int:
    if not BUF.exists():
        raise CheckError(f"{BUF} is missing: run `make setup` (buf-bin is a dev dependency)")
    return subprocess.run([str(BUF), *args], cwd=ROOT, check=False).returncode  # noqa: S603


def main() -> int:
    config = str(ROOT / "buf.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        current = image(ROOT / "proto", scratch / "current.binpb")
        if buf("lint", str(current), "--path", "puhui", "--config", config) != 0:
            print("buf lint failed (rules: buf.yaml)", file=sys.stderr)
            return 1
        print("buf lint: ok")
        base = base_ref()
        archive = subprocess.run(  # noqa: S603
            ["git", "archive", "--format=tar", base, "proto"],  # noqa: S607
            cwd=ROOT,
            capture_output=True,
            check=False,
        )
        if archive.returncode != 0:
            print(f"buf breaking: {base} has no proto/ (first version): nothing to compare")
            return 0
        old_root = scratch / "base"
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(old_root, filter="data")
        previous = image(old_root / "proto", scratch / "previous.binpb")
        against = ["--against", str(previous), "--path", "puhui", "--config", config]
        if buf("breaking", str(current), *against) != 0:
            print(
                f"buf breaking against {base[:12]} failed: a breaking change needs a new "
                "package version (puhui.<service>.v2), not an edit of v1",
                file=sys.stderr,
            )
            return 1
        print(f"buf breaking against {base[:12]}: ok")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except CheckError as exc:
        print(f"api check: {exc}", file=sys.stderr)
        sys.exit(2)

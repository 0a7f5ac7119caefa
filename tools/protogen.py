"""Generate Python code from proto/ into the `puhui` package (services/).

protoc runs with `-I proto` into a scratch folder; its `puhui/` tree is then synced into
`services/`, so `proto/puhui/identity/v1/identity.proto` becomes
`services/identity/v1/identity_pb2.py`, imported as `puhui.identity.v1.identity_pb2`
exactly as the generated code imports it (no sys.path edits, no sed on imports).

    python tools/protogen.py          # regenerate (make proto)
    python tools/protogen.py --check  # exit 1 if committed code differs from the protos

It also writes `services/kit/api_descriptors.binpb`: every proto as a FileDescriptorSet with
its imports and source info (comments), which server reflection serves (so `grpcurl describe`
shows the comments) and the HTTP gateway transcodes from. The `google.api.http` annotations
import googleapis' protos from the googleapis-common-protos package.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

from puhui.kit.gateway import googleapis_include

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
PACKAGE_DIR = ROOT / "services"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_descriptors.binpb")
DESCRIPTORS = Path("kit") / "api_descriptors.binpb"
# Not imported by any of our protos, but carried in the descriptor set: the error details the
# gateway renders in `google.rpc.Status` JSON.
EXTRA_PROTOS = ("google/rpc/error_details.proto", "google/rpc/status.proto")


def proto_files() -> list[Path]:
    return sorted(PROTO_DIR.rglob("*.proto"))


def generate(out: Path) -> list[Path]:
    """Run protoc over every proto into `out`; return the generated files (relative)."""
    include = str(resources.files("grpc_tools") / "_proto")
    files = [str(p.relative_to(PROTO_DIR)) for p in proto_files()]
    (out / "puhui" / DESCRIPTORS).parent.mkdir(parents=True, exist_ok=True)
    args = [
        "protoc",
        f"-I{PROTO_DIR}",
        f"-I{include}",
        f"-I{googleapis_include()}",
        f"--descriptor_set_out={out / 'puhui' / DESCRIPTORS}",
        "--include_imports",
        "--include_source_info",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed (see the message above)")
    # The extra protos go into the descriptor set only (their Python code ships with
    # googleapis-common-protos): a second run, merged, no code generated.
    extra = out / "extra.binpb"
    extra_args = ["protoc", f"-I{include}", f"-I{googleapis_include()}", "--include_imports"]
    if protoc.main([*extra_args, f"--descriptor_set_out={extra}", *EXTRA_PROTOS]) != 0:
        raise SystemExit("protoc failed on the googleapis error protos")
    _merge_descriptor_sets(out / "puhui" / DESCRIPTORS, extra)
    extra.unlink()
    generated = sorted(
        p.relative_to(out / "puhui") for p in (out / "puhui").rglob("*") if p.is_file()
    )
    # Generated folders must be packages: add an empty __init__.py to each.
    for folder in {p.parent for p in generated}:
        for part in [folder, *folder.parents]:
            if part != Path("."):
                init = out / "puhui" / part / "__init__.py"
                if not init.exists():
                    init.write_text("")
    return sorted(p.relative_to(out / "puhui") for p in (out / "puhui").rglob("*") if p.is_file())


def _merge_descriptor_sets(target: Path, extra: Path) -> None:
    from google.protobuf import descriptor_pb2

    merged = descriptor_pb2.FileDescriptorSet.FromString(target.read_bytes())
    names = {f.name for f in merged.file}
    for f in descriptor_pb2.FileDescriptorSet.FromString(extra.read_bytes()).file:
        if f.name not in names:
            merged.file.append(f)
            names.add(f.name)
    target.write_bytes(merged.SerializeToString(deterministic=True))


def committed_generated() -> set[Path]:
    return {
        p.relative_to(PACKAGE_DIR)
        for p in PACKAGE_DIR.rglob("*")
        if p.is_file() and p.name.endswith(GENERATED_SUFFIXES)
    }


def sync(scratch: Path, files: list[Path]) -> None:
    for rel in files:
        target = PACKAGE_DIR / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel.name == "__init__.py" and target.exists():
            continue  # never overwrite a hand-written package __init__
        shutil.copyfile(scratch / "puhui" / rel, target)
    stale = committed_generated() - {f for f in files if f.name.endswith(GENERATED_SUFFIXES)}
    for rel in sorted(stale):
        (PACKAGE_DIR / rel).unlink()
        print(f"removed stale {rel}")


def drift(scratch: Path, files: list[Path]) -> list[str]:
    problems = []
    expected = {f for f in files if f.name.endswith(GENERATED_SUFFIXES)}
    for rel in sorted(expected):
        target = PACKAGE_DIR / rel
        if not target.exists():
            problems.append(f"missing: services/{rel}")
        elif not filecmp.cmp(scratch / "puhui" / rel, target, shallow=False):
            problems.append(f"differs: services/{rel}")
    for rel in sorted(committed_generated() - expected):
        problems.append(f"stale (no proto): services/{rel}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if committed code drifted")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        files = generate(scratch)
        if args.check:
            problems = drift(scratch, files)
            for p in problems:
                print(p)
            if problems:
                print("generated code is out of date: run `make proto` and commit")
                return 1
            print(f"generated code matches {len(proto_files())} protos")
            return 0
        sync(scratch, files)
        print(f"generated {sum(f.name.endswith(GENERATED_SUFFIXES) for f in files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())

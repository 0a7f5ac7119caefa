"""Contracts shared by every service: generated code matches the protos, every proto
follows the package layout, and the generated modules import as `puhui.<svc>.v1`."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_committed_generated_code_matches_the_protos():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "protogen.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_proto_is_versioned_and_imports_as_puhui_module():
    protos = sorted((ROOT / "proto" / "puhui").rglob("*.proto"))
    assert protos
    for proto in protos:
        rel = proto.relative_to(ROOT / "proto")
        service, version = rel.parts[1], rel.parts[2]
        assert version == "v1", rel
        text = proto.read_text()
        assert f"package puhui.{service}.{version};" in text, rel
        module = f"puhui.{service}.{version}.{proto.stem}_pb2"
        assert importlib.import_module(module).DESCRIPTOR.name == str(rel)


def test_no_sys_path_edits_anywhere():
    offenders = []
    for path in [
        *ROOT.glob("services/**/*.py"),
        *ROOT.glob("bench/**/*.py"),
        *ROOT.glob("tests/**/*.py"),
        *ROOT.glob("tools/**/*.py"),
        *ROOT.glob("deploy/**/*.py"),
    ]:
        if path.name.endswith(("_pb2.py", "_pb2_grpc.py")) or path == Path(__file__):
            continue
        text = path.read_text(encoding="utf-8")
        if "sys.path.insert" in text or "sys.path.append" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []

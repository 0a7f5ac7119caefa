"""The configuration reference is generated from the typed configs and cannot drift."""

from __future__ import annotations

import dataclasses
import importlib
import subprocess
import sys
from pathlib import Path

from puhui.cli import SERVICES
from puhui.kit.config import ServiceConfig

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "configuration.md"


def _configdoc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "configdoc.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_the_committed_reference_matches_the_typed_configs():
    result = _configdoc("--check")
    assert result.returncode == 0, result.stderr


def test_every_setting_of_every_service_is_documented():
    text = DOC.read_text(encoding="utf-8")
    classes: list[type] = [ServiceConfig]
    for service in SERVICES:
        module = importlib.import_module(f"puhui.{service}.config")
        classes += [
            v
            for v in vars(module).values()
            if isinstance(v, type) and issubclass(v, ServiceConfig) and v is not ServiceConfig
        ]
    assert len(classes) == 1 + len(SERVICES)
    for cls in classes:
        for f in dataclasses.fields(cls):
            env = f.metadata.get("env")
            if env:
                assert f"| `{env}` |" in text or f"`{env}` = " in text, (cls.__name__, env)
    assert "**secret**" in text  # secret settings are flagged

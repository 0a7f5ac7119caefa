"""The declared access policy's gate (puhui.kit.policy), table-tested on principals."""

from __future__ import annotations

import pytest

from puhui.kit import policy
from puhui.kit.auth import ANONYMOUS, Principal
from puhui.kit.errors import PermissionDenied, Unauthenticated

SERVICE = "puhui.test.v1.Thing"


def who(*grants: str) -> Principal:
    scoped = tuple(tuple(g.split(":", 1)) for g in grants if ":" in g)
    return Principal(
        subject="440000:x",
        issuer="440000",
        roles=frozenset(g.split(":", 1)[0] for g in grants),
        role_scopes=scoped,  # type: ignore[arg-type]
    )


@pytest.fixture
def gate() -> policy.Policy:
    table = policy.Policy()
    table.add(
        SERVICE,
        {
            "Read": policy.PUBLIC,
            "Mine": policy.SIGNED_IN,
            "Edit": policy.roles("institution_staff", "province_admin", "national_admin"),
            "Anywhere": policy.roles("province_admin", node_scoped=False),
        },
    )
    return table


@pytest.mark.parametrize(
    ("method", "principal", "outcome"),
    [
        ("Read", ANONYMOUS, None),
        ("Mine", ANONYMOUS, Unauthenticated),
        ("Mine", who("innovator"), None),
        ("Edit", ANONYMOUS, Unauthenticated),
        ("Edit", who("innovator"), policy.RoleRequired),
        ("Edit", who("institution_staff:440000-000001"), None),
        ("Edit", who("institution_staff:320000-000001"), policy.RoleRequired),
        ("Edit", who("province_admin:440000"), None),
        ("Edit", who("province_admin:320000"), policy.RoleRequired),
        ("Edit", who("national_admin"), None),
        ("Anywhere", who("province_admin:320000"), None),
        ("Unlisted", who("national_admin"), PermissionDenied),  # fail closed
    ],
)
def test_the_gate_at_node_440000(gate, method, principal, outcome):
    full = f"/{SERVICE}/{method}"
    if outcome is None:
        gate.check(full, principal, "440000")
        return
    with pytest.raises(outcome):
        gate.check(full, principal, "440000")


def test_ungoverned_services_pass_and_rows_are_checked_both_ways(gate):
    gate.check("/puhui.other.v1.Service/Anything", ANONYMOUS, "440000")
    assert policy.missing_rows(["Read", "New"], {"Read": policy.PUBLIC, "Gone": policy.PUBLIC}) == [
        "Gone",
        "New",
    ]
    with pytest.raises(ValueError, match="at least one role"):
        policy.roles()

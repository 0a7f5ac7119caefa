"""Authorisation rules, table-driven: who may read, write, approve what."""

from __future__ import annotations

import pytest

from puhui.catalog import domain as d
from puhui.catalog.tests.support import GD_ADMIN, JS_ADMIN, NATIONAL, principal, staff
from puhui.kit.auth import ANONYMOUS

INST = "440000-000001"
HUB_ADMIN = "000000:hub|province_admin@000000"
NODE_SVC = "000000:relay|node_service"


def inst(
    tier: d.Tier = d.Tier.PREFECTURE_CENTRE, status: d.Status = d.Status.PENDING, node="440000"
):
    return d.Institution(INST, node, "x", tier, "440300", status=status)


def who(token: str | None):
    return ANONYMOUS if token is None else principal(token)


@pytest.mark.parametrize(
    ("token", "entry", "readable"),
    [
        (None, inst(status=d.Status.APPROVED), True),
        (None, inst(status=d.Status.PENDING), False),
        (None, inst(status=d.Status.SUSPENDED), False),
        (GD_ADMIN, inst(status=d.Status.PENDING), True),
        (JS_ADMIN, inst(status=d.Status.PENDING), False),
        (JS_ADMIN, inst(status=d.Status.APPROVED), True),
        (staff(INST), inst(status=d.Status.PENDING), True),
        (staff("440000-000002"), inst(status=d.Status.PENDING), False),
        (NATIONAL, inst(status=d.Status.PENDING), True),
        (NODE_SVC, inst(status=d.Status.RETIRED), True),
    ],
)
def test_read(token, entry, readable):
    assert d.can_read_institution(who(token), entry) is readable


@pytest.mark.parametrize(
    ("token", "node", "allowed"),
    [
        (GD_ADMIN, "440000", True),
        (JS_ADMIN, "440000", False),
        (None, "440000", False),
        (staff(INST), "440000", False),
        (NATIONAL, "440000", False),  # the hub does not write a province's entries
        (NATIONAL, "000000", True),
        (HUB_ADMIN, "000000", True),
        (GD_ADMIN, "000000", False),
    ],
)
def test_create(token, node, allowed):
    assert d.can_create_institution(who(token), node) is allowed


@pytest.mark.parametrize(
    ("token", "tier", "allowed"),
    [
        (GD_ADMIN, d.Tier.PREFECTURE_CENTRE, True),
        (GD_ADMIN, d.Tier.KEY_NETWORK_OUTLET, True),
        (GD_ADMIN, d.Tier.TISC, False),
        (GD_ADMIN, d.Tier.UNIVERSITY_CENTRE, False),
        (NATIONAL, d.Tier.TISC, True),
        (NATIONAL, d.Tier.UNIVERSITY_CENTRE, True),
        (NATIONAL, d.Tier.PREFECTURE_CENTRE, False),
        (JS_ADMIN, d.Tier.PREFECTURE_CENTRE, False),
        (staff(INST), d.Tier.PREFECTURE_CENTRE, False),
        (None, d.Tier.MARKET_PROVIDER, False),
    ],
)
def test_change_status(token, tier, allowed):
    assert d.can_change_status(who(token), inst(tier=tier)) is allowed


@pytest.mark.parametrize(
    ("token", "update", "items", "tier_change"),
    [
        (GD_ADMIN, True, True, True),
        (staff(INST), True, True, False),
        (staff("440000-000009"), False, False, False),
        (JS_ADMIN, False, False, False),
        (NATIONAL, False, False, False),
        (None, False, False, False),
    ],
)
def test_edit(token, update, items, tier_change):
    p, entry = who(token), inst()
    assert d.can_update_institution(p, entry) is update
    assert d.can_edit_items(p, entry) is items
    assert d.can_change_tier(p, entry) is tier_change


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (None, d.Visibility(all=False)),
        (GD_ADMIN, d.Visibility(all=True)),
        (JS_ADMIN, d.Visibility(all=False)),
        (NATIONAL, d.Visibility(all=True)),
        (staff(INST), d.Visibility(all=False, institution_ids=(INST,))),
    ],
)
def test_search_visibility(token, expected):
    p = who(token)
    own = [s for r, s in p.role_scopes if r == d.STAFF]
    assert d.visibility(p, "440000", own) == expected

"""The example generator: deterministic, plainly marked, national proportions, valid data."""

from __future__ import annotations

from collections import Counter

import pytest

from puhui.catalog import domain as d
from puhui.catalog import seed
from puhui.refdata import divisions


def test_same_seed_same_catalog_and_another_seed_differs():
    assert seed.generate("440000", 40, 3) == seed.generate("440000", 40, 3)
    assert seed.generate("440000", 40, 3) != seed.generate("440000", 40, 4)


def test_national_proportions_on_the_hub():
    institutions, items = seed.generate("000000", seed.default_examples("000000"), 1)
    tiers = Counter(i.tier for i in institutions)
    assert tiers[d.Tier.TISC] == 100
    assert tiers[d.Tier.UNIVERSITY_CENTRE] == 80
    assert tiers[d.Tier.PROVINCIAL_BACKBONE] == 50
    assert tiers[d.Tier.PREFECTURE_CENTRE] >= 100
    assert tiers[d.Tier.NATIONAL] == 1
    assert len({divisions.province_of(i.region_code).code for i in institutions}) == 31
    assert len(items) > 5 * len(institutions)


@pytest.mark.parametrize("node", ["440000", "110000", "650000"])
def test_province_share_is_marked_valid_and_in_the_province(node):
    institutions, items = seed.generate(node, seed.default_examples(node), 9)
    assert 15 <= len(institutions) <= 25
    assert len(Counter(i.tier for i in institutions)) == len(seed.NATIONAL_MIX)
    for i in institutions:
        assert i.is_example
        assert i.name.endswith("（示例）")
        assert divisions.province_of(i.region_code).code == node
        d.validate_institution(
            d.NewInstitution(
                i.name, i.tier, i.region_code, i.description, i.service_area, i.contacts,
                i.ipc_fields, i.monthly_capacity,
            ),
            node,
        )  # fmt: skip
    owners = {i.institution_id for i in institutions}
    for it in items:
        assert it.is_example
        assert it.institution_id in owners
        d.validate_item(
            d.NewServiceItem(
                it.institution_id, it.service_code, it.name, it.category, it.channel,
                it.cost_class, it.description, it.eligibility, it.processing_days,
                it.required_materials,
            )
        )  # fmt: skip


def test_tier_counts_add_up():
    for total in (1, 7, 20, 601, 10_000):
        assert sum(seed.tier_counts(total, "440000").values()) == total


def test_the_hubs_examples_belong_to_the_hub_and_never_reuse_a_members_id():
    hub, _ = seed.generate("000000", 60, 7)
    members = {
        i.institution_id for node in ("440000", "320000") for i in seed.generate(node, 40, 7)[0]
    }
    assert {i.owning_node for i in hub} == {"000000"}
    assert all(i.institution_id.startswith("000000-") for i in hub)
    assert not members & {i.institution_id for i in hub}
    assert len({divisions.province_of(i.region_code).code for i in hub}) > 20  # country-wide

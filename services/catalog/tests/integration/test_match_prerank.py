"""Match's SQL pre-ranking (adapters/match.py) agrees with the domain's ranking
(domain/match.py) on the same data, on real PostgreSQL.

A generated table: one seeded catalog (the seed's institutions and items, some made national
or suspended) and a few hundred seeded profiles. The oracle is the domain alone: every
approved institution in question (serving the region, national, or elsewhere in the city),
its current items in the wanted categories scored by `score_match` and ordered by `rank`,
with no SQL in between."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace

import pytest

from puhui.catalog import domain as d
from puhui.catalog import seed
from puhui.catalog.adapters.match import SqlMatchCandidates, SqlMatchReadModel
from puhui.catalog.adapters.rows import INSTITUTION_NAMES, ITEM_NAMES
from puhui.kit import migrations
from puhui.kit.db import Database
from puhui.kit.testing import temporary_database

NODE = "440000"
PROFILES = 120
EVERYTHING = 100_000  # a limit no candidate set reaches
KEY_AT = len(ITEM_NAMES) + len(INSTITUTION_NAMES)


def _catalog() -> tuple[list[d.Institution], list[d.ServiceItem]]:
    institutions, items = seed.generate(NODE, 240, seed=17)
    rng = random.Random(17)
    changed = []
    for inst in institutions:
        roll = rng.random()
        if roll < 0.04:
            inst = replace(inst, tier=d.Tier.NATIONAL, region_code="110000", service_area=())
        elif roll < 0.08:
            inst = replace(inst, status=d.Status.SUSPENDED)
        changed.append(inst)
    return changed, items


@pytest.fixture(scope="module")
def loaded(
    postgres_admin_url: str,
) -> Iterator[tuple[Database, list[d.Institution], list[d.ServiceItem]]]:
    with temporary_database(postgres_admin_url, "catalog") as url:
        migrations.upgrade("catalog", url)
        db = Database(url)
        db.start()
        try:
            institutions, items = _catalog()
            seed.bulk_load(db, institutions, items)
            yield db, institutions, items
        finally:
            db.stop()


def _profiles(institutions: list[d.Institution]) -> list[d.Profile]:
    rng = random.Random(29)
    regions = sorted(
        {i.region_code for i in institutions if i.region_code != "110000"}
        | {i.region_code[:4] + "00" for i in institutions if i.region_code != "110000"}
        | {NODE}
    )
    categories = [int(c) for c in d.Category]
    out = []
    for _ in range(PROFILES):
        kind = rng.choice([0, *[int(t) for t in d.InnovatorType]])
        out.append(
            d.Profile(
                region_code=rng.choice(regions),
                innovator_type=kind,
                enterprise_size=rng.choice([0, *[int(s) for s in d.EnterpriseSize]]),
                stage=rng.choice([0, *[int(s) for s in d.Stage]]),
                ipc_fields=tuple(rng.sample(seed.IPC_POOL, rng.choice((0, 0, 1, 2)))),
                needs=tuple(sorted(rng.sample(categories, rng.choice((0, 0, 1, 2, 3))))),
                needs_text=rng.choice(("", "", "", "商标", "专利检索", "prior art search")),
            )
        )
    return out


def _oracle_candidates(
    profile: d.Profile, institutions: list[d.Institution], items: list[d.ServiceItem]
) -> dict[str, d.Match]:
    """The domain's own view: every candidate in question, scored, by item id."""
    wanted = d.wanted_categories(profile)
    region = d.region_filter(profile.region_code)
    covering = set(region.covering)
    city, next_city = region.code[:4], f"{int(region.code[:4]) + 1:04d}"
    nearby = not region.code.endswith("0000")
    by_id = {i.institution_id: i for i in institutions}
    out = {}
    for item in items:
        inst = by_id[item.institution_id]
        if not item.is_current or item.category not in wanted or inst.status != d.Status.APPROVED:
            continue
        if (
            inst.region_code in covering
            or inst.tier == d.Tier.NATIONAL
            or any(code in covering for code in inst.service_area)
            or (nearby and city <= inst.region_code < next_city)
        ):
            out[item.item_id] = d.score_match(item, inst, profile, wanted)
    return out


def _summary(matches: list[d.Match]) -> list[tuple[str, float, tuple[str, ...], tuple[str, ...]]]:
    return [(m.item.item_id, m.score, m.reasons, m.gaps) for m in matches]


def test_sql_keys_agree_with_the_domain_ranking(loaded) -> None:
    """Each candidate's SQL key is the domain's ranking prefix: below 100 exactly when the
    domain finds no gap, and then equal to its nearness; the candidate set is the domain's."""
    db, institutions, items = loaded
    checked = capable = 0
    with db.read() as session:
        reads = SqlMatchCandidates(session.connection())
        for profile in _profiles(institutions):
            profile = d.validate_profile(profile)
            oracle = _oracle_candidates(profile, institutions, items)
            rows = reads.keyed_rows(profile, d.wanted_categories(profile), EVERYTHING)
            assert sorted(r[0] for r in rows) == sorted(oracle), profile
            keys = [r[KEY_AT] for r in rows]
            assert keys == sorted(keys), profile
            for row in rows:
                m = oracle[row[0]]
                assert (row[KEY_AT] < 100) == (not m.gaps), (profile, m)
                if not m.gaps:
                    assert row[KEY_AT] == m.nearness, (profile, m)
                    capable += 1
                checked += 1
    # The table exercises both sides of the key.
    assert checked > 5_000
    assert capable > 2_000


@pytest.mark.parametrize("max_results", [0, 1, 3, 7, 20, 100])
def test_match_through_the_read_model_equals_ranking_everything(loaded, max_results) -> None:
    """The use case over the read model (pre-ranked, cut to what can reach the results)
    returns what `rank` makes of every candidate."""
    db, institutions, items = loaded
    catalog = d.Catalog(NODE, uow=None, match_reads=SqlMatchReadModel(db))  # type: ignore[arg-type]
    catalog.match_candidates = EVERYTHING
    for profile in _profiles(institutions):
        got = catalog.match(profile, max_results)
        valid = d.validate_profile(profile)
        expected = d.rank(
            list(_oracle_candidates(valid, institutions, items).values()), max_results or 20
        )
        assert _summary(got) == _summary(expected), profile

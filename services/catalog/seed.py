"""Example institutions and service items from a seeded generator, plainly marked as examples.

Proportions follow the national plan's figures for 2025 (about 100 TISCs, 80 university
national IP information service centres, 50 provincial backbone nodes, 100+ prefecture-level
comprehensive centres), plus key network outlets and market providers doing public-interest
work; a province node gets its share. Locations are real GB/T 2260 codes from
`puhui.refdata.divisions`, technology fields real IPC symbols checked against
`puhui.refdata.ipc`. The hub's examples lie all over the country but belong to the hub
(ids `000000-…`), like everything a node creates. Every generated entry has
`is_example=True` and a name ending in "（示例）", so nobody mistakes it for a real
institution.

    python -m puhui.catalog seed --examples 200 --seed 7
"""

from __future__ import annotations

import argparse
import logging
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from puhui.catalog import domain as d
from puhui.catalog.adapters import db as tables
from puhui.kit import config as kit_config
from puhui.kit import migrations
from puhui.kit.db import Database
from puhui.kit.outbox import Outbox
from puhui.refdata import divisions, ipc

logger = logging.getLogger(__name__)

EXAMPLE_MARK = "（示例）"
SYSTEM = "system:seed"

# National counts (2025 plan figures; outlets and providers are our assumption).
NATIONAL_MIX: dict[d.Tier, int] = {
    d.Tier.TISC: 100,
    d.Tier.UNIVERSITY_CENTRE: 80,
    d.Tier.PROVINCIAL_BACKBONE: 50,
    d.Tier.PREFECTURE_CENTRE: 120,
    d.Tier.KEY_NETWORK_OUTLET: 150,
    d.Tier.MARKET_PROVIDER: 100,
}
# Mainland provinces with the data to place institutions (台湾, 香港, 澳门 have no cities).
PROVINCE_COUNT = 31

IPC_POOL = (
    "G06F", "G06F 16/00", "G06N", "G06Q", "G06T", "H04L", "H04L 9/00", "H04W", "H01L",
    "H01M", "H02J", "A61K", "A61B", "A61P", "C07D", "C12N", "C08L", "B60L", "B33Y",
    "F16H", "G01N", "E04B", "A01B", "A23L", "D06M", "G16H", "B65G", "F24S",
)  # fmt: skip

TIER_WORDS = {
    d.Tier.NATIONAL: "国家知识产权公共服务中心",
    d.Tier.PROVINCIAL_BACKBONE: "知识产权公共服务中心",
    d.Tier.PREFECTURE_CENTRE: "知识产权综合服务中心",
    d.Tier.TISC: "技术与创新支持中心",
    d.Tier.UNIVERSITY_CENTRE: "高校国家知识产权信息服务中心",
    d.Tier.KEY_NETWORK_OUTLET: "知识产权服务网点",
    d.Tier.MARKET_PROVIDER: "知识产权代理公益服务站",
}
DESCRIPTIONS = (
    "提供专利检索、查新与分析服务，服务科技型中小企业",
    "开展专利导航、产业预警和知识产权运营服务",
    "提供商标注册、地理标志保护咨询与培训",
    "开展知识产权维权援助、纠纷调解指导",
    "面向高校和科研院所提供专利信息利用与转移转化服务",
    "提供知识产权政策咨询、质押融资对接服务",
)
TIER_ITEMS = {
    d.Tier.NATIONAL: (8, 16),
    d.Tier.PROVINCIAL_BACKBONE: (8, 16),
    d.Tier.PREFECTURE_CENTRE: (6, 14),
    d.Tier.TISC: (4, 10),
    d.Tier.UNIVERSITY_CENTRE: (4, 10),
    d.Tier.KEY_NETWORK_OUTLET: (3, 8),
    d.Tier.MARKET_PROVIDER: (3, 8),
}
MATERIALS = ("营业执照复印件", "技术交底书", "身份证明", "申请表", "专利证书复印件", "委托书")


def tier_counts(total: int, node: str) -> dict[d.Tier, int]:
    """Split `total` over the tiers in the national proportions (largest remainder); the hub
    also holds one national institution."""
    mix = dict(NATIONAL_MIX)
    out: dict[d.Tier, int] = {}
    if node == d.HUB and total > 0:
        out[d.Tier.NATIONAL] = 1
        total -= 1
    weight = sum(mix.values())
    exact = {t: total * w / weight for t, w in mix.items()}
    counts = {t: int(v) for t, v in exact.items()}
    rest = total - sum(counts.values())
    for t in sorted(mix, key=lambda t: (-(exact[t] - counts[t]), t))[:rest]:
        counts[t] += 1
    out.update(counts)
    return out


def default_examples(node: str) -> int:
    national = sum(NATIONAL_MIX.values())
    return (
        national + 1 if node == d.HUB else max(len(NATIONAL_MIX), round(national / PROVINCE_COUNT))
    )


def _provinces(node: str) -> list[divisions.Division]:
    if node != d.HUB:
        division = divisions.get(node)
        if division is None or division.level != "province":
            raise ValueError(f"node {node!r} is neither the hub nor a province")
        return [division]
    return [p for p in divisions.provinces() if divisions.children(p.code)]


def _cities(province: divisions.Division) -> list[divisions.Division]:
    kids = list(divisions.children(province.code))
    cities = [c for c in kids if c.level == "city" and not c.is_grouping]
    return cities or kids  # municipalities: counties directly under the province


def _counties(province: divisions.Division) -> list[divisions.Division]:
    return [c for c in divisions.descendants(province.code) if c.level == "county"] or _cities(
        province
    )


def generate(
    node: str, examples: int, seed: int, *, now: datetime | None = None, items_scale: float = 1.0
) -> tuple[list[d.Institution], list[d.ServiceItem]]:
    """Deterministic for (node, examples, seed): the same arguments give the same catalog."""
    for symbol in IPC_POOL:
        assert ipc.is_valid(symbol), symbol
    rng = random.Random(f"{node}:{examples}:{seed}")
    now = now or datetime(2025, 1, 1, tzinfo=UTC)
    provinces = _provinces(node)
    plan: list[d.Tier] = []
    for tier, count in sorted(tier_counts(examples, node).items()):
        plan += [tier] * count
    institutions: list[d.Institution] = []
    items: list[d.ServiceItem] = []
    codes = sorted(d.STANDARD_SERVICES)
    for n, tier in enumerate(plan, start=1):
        province = provinces[(n - 1) % len(provinces)] if node == d.HUB else provinces[0]
        cities = _cities(province)
        area: tuple[str, ...]
        if tier == d.Tier.NATIONAL:
            region, area = "110000", ()
        elif tier == d.Tier.PROVINCIAL_BACKBONE:
            region, area = cities[0].code, (province.code,)
        elif tier in (d.Tier.KEY_NETWORK_OUTLET, d.Tier.MARKET_PROVIDER):
            county = rng.choice(_counties(province))
            region = county.code
            area = (county.code,) if rng.random() < 0.5 else ()
        else:
            city = rng.choice(cities)
            region, area = city.code, (city.code,)
        place = divisions.get(region)
        place_name = place.name if place is not None else province.name
        # The node that generates an example owns it, the hub included: its ids are its own
        # (`<node>-<seq>`), never a member node's, so an id names one institution federation-
        # wide and the national figures count each example at the node that holds it.
        owner = node
        created = now - timedelta(days=rng.randint(0, 700))
        status = d.Status.APPROVED if rng.random() < 0.9 else d.Status.PENDING
        inst = d.Institution(
            institution_id=f"{owner}-{n:06d}",
            owning_node=owner,
            name=f"{place_name}{TIER_WORDS[tier]}{n}{EXAMPLE_MARK}",
            tier=tier,
            region_code=region,
            description=rng.choice(DESCRIPTIONS),
            service_area=area,
            contacts=(d.Contact(name="示例联系人", phone=f"400-000-{n % 10000:04d}"),),
            ipc_fields=tuple(sorted(rng.sample(IPC_POOL, rng.randint(0, 4)))),
            monthly_capacity=rng.choice((0, 20, 50, 100, 200, 500)),
            status=status,
            approved_by=SYSTEM if status == d.Status.APPROVED else "",
            approved_at=created if status == d.Status.APPROVED else None,
            status_changed_by=SYSTEM if status == d.Status.APPROVED else "",
            status_changed_at=created if status == d.Status.APPROVED else None,
            created_at=created,
            updated_at=created,
            is_example=True,
            revision=2 if status == d.Status.APPROVED else 1,
        )
        institutions.append(inst)
        low, high = TIER_ITEMS[tier]
        count = max(1, round(rng.randint(low, high) * items_scale))
        for code in sorted(rng.sample(codes, min(count, len(codes)))) + [
            rng.choice(codes) for _ in range(max(0, count - len(codes)))
        ]:
            category, standard_name = d.STANDARD_SERVICES[code]
            items.append(_item(rng, inst, code, category, standard_name, created))
    return institutions, items


def _pick(rng: random.Random, values: Sequence[int], chance: float) -> tuple[int, ...]:
    if rng.random() >= chance:
        return ()
    return tuple(sorted(rng.sample(list(values), rng.randint(1, len(values) - 1))))


def _item(
    rng: random.Random,
    inst: d.Institution,
    code: str,
    category: d.Category,
    standard_name: str,
    created: datetime,
) -> d.ServiceItem:
    return d.ServiceItem(
        item_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        version=1,
        institution_id=inst.institution_id,
        owning_node=inst.owning_node,
        service_code=code,
        name=f"{standard_name}{EXAMPLE_MARK}",
        description=f"{inst.name}提供的{standard_name}服务",
        category=category,
        channel=rng.choice(list(d.Channel)),
        cost_class=rng.choices(list(d.CostClass), weights=(5, 3, 2))[0],
        eligibility=d.Eligibility(
            innovator_types=_pick(rng, [t.value for t in d.InnovatorType], 0.3),
            enterprise_sizes=_pick(rng, [s.value for s in d.EnterpriseSize], 0.2),
            stages=_pick(rng, [s.value for s in d.Stage], 0.3),
        ),
        processing_days=rng.choice((1, 3, 5, 7, 10, 15, 20)),
        required_materials=tuple(rng.sample(MATERIALS, rng.randint(0, 3))),
        is_example=True,
        created_at=created,
        created_by=SYSTEM,
        is_current=True,
    )


def _chunks(rows: list[dict[str, Any]], size: int = 5000) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def bulk_load(
    db: Database,
    institutions: Sequence[d.Institution],
    items: Sequence[d.ServiceItem],
    outbox: Outbox | None = None,
) -> None:
    """Insert generated entries in one transaction; with an outbox, also their events."""
    from puhui.catalog.adapters.events import OutboxEvents

    with db.transaction() as session:
        for chunk in _chunks([tables.institution_values(i) for i in institutions]):
            session.execute(tables.institutions.insert(), chunk)
        areas = [
            {"institution_id": i.institution_id, "region_code": c}
            for i in institutions
            for c in i.service_area
        ]
        for chunk in _chunks(areas):
            session.execute(tables.institution_areas.insert(), chunk)
        fields = [
            {"institution_id": i.institution_id, "ipc": c}
            for i in institutions
            for c in i.ipc_fields
        ]
        for chunk in _chunks(fields):
            session.execute(tables.institution_ipc.insert(), chunk)
        regions = [row for i in institutions for row in tables.region_rows(i)]
        for chunk in _chunks(regions):
            session.execute(tables.institution_regions.insert(), chunk)
        inst_of = {i.institution_id: i for i in institutions}
        item_rows = [
            tables.item_values(
                i, int(inst_of[i.institution_id].status), int(inst_of[i.institution_id].tier)
            )
            for i in items
        ]
        for chunk in _chunks(item_rows):
            session.execute(tables.service_items.insert(), chunk)
        # Keep the id sequence ahead of the generated ids.
        by_node: dict[str, int] = {}
        for i in institutions:
            node, _, seq = i.institution_id.rpartition("-")
            by_node[node] = max(by_node.get(node, 0), int(seq))
        seq_table = tables.institution_seq
        for node, last in by_node.items():
            current = session.execute(
                select(seq_table.c.last).where(seq_table.c.node == node)
            ).scalar()
            if current is None:
                session.execute(seq_table.insert().values(node=node, last=last))
            elif current < last:
                session.execute(
                    seq_table.update().where(seq_table.c.node == node).values(last=last)
                )
        if outbox is not None:
            events = OutboxEvents(outbox, session)
            for inst in institutions:
                events.institution_changed("created", inst)
            for item in items:
                events.item_changed("created", item)


def seed(
    db: Database, outbox: Outbox, node: str, examples: int, seed_value: int
) -> tuple[int, int]:
    """Load examples into a node's catalog once; returns (institutions, items) written."""
    with db.transaction() as session:
        existing = session.execute(
            select(func.count())
            .select_from(tables.institutions)
            .where(tables.institutions.c.is_example.is_(True))
        ).scalar_one()
        taken = session.execute(select(tables.institution_seq.c.last)).scalars().all()
    if existing:
        logger.info("catalog already holds %d example institutions; nothing done", existing)
        return 0, 0
    institutions, items = generate(node, examples, seed_value)
    # Number after any real institutions already there.
    offset = max(taken, default=0)
    if offset:
        renumber = {
            i.institution_id: f"{i.owning_node}-{offset + n:06d}"
            for n, i in enumerate(institutions, start=1)
        }
        institutions = [replace(i, institution_id=renumber[i.institution_id]) for i in institutions]
        items = [replace(i, institution_id=renumber[i.institution_id]) for i in items]
    bulk_load(db, institutions, items, outbox)
    return len(institutions), len(items)


def main(argv: Sequence[str]) -> None:
    from puhui.catalog.adapters.db import metadata
    from puhui.catalog.config import CatalogConfig
    from puhui.kit import logs

    parser = argparse.ArgumentParser(prog="python -m puhui.catalog seed", description=__doc__)
    parser.add_argument("--examples", type=int, default=0, help="institutions to generate")
    parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")
    args = parser.parse_args(argv)
    config = kit_config.load(CatalogConfig)
    logs.configure("catalog", config.node_id, config.log_level)
    examples = args.examples or default_examples(config.node_id)
    db = Database(config.effective_database_url())
    db.start()
    try:
        migrations.upgrade("catalog", db.url)
        outbox = Outbox(metadata.tables["puhui_outbox"], config.node_id, "catalog")
        made = seed(db, outbox, config.node_id, examples, args.seed)
    finally:
        db.stop()
    provinces = divisions.provinces()
    print(
        f"reference data: {len(provinces)} provinces, "
        f"{sum(len(divisions.descendants(p.code)) for p in provinces)} cities and counties "
        f"(GB/T 2260), IPC scheme (puhui.refdata.ipc)"
    )
    print(
        f"seeded {made[0]} example institutions and {made[1]} service items "
        f"into node {config.node_id}"
    )

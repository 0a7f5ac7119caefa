"""The examples `make run` loads, as the hub's national model sees them: every id names one
institution federation-wide, and the national figures of each node equal what it holds
(the hub included). The national model runs on SQLite here, as under `make run`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf import any_pb2
from google.protobuf.message import Message

from puhui.catalog import seed
from puhui.catalog.servicer import institution_to_proto, item_to_proto
from puhui.catalog.v1 import events_pb2 as catalog_events
from puhui.events.v1 import envelope_pb2
from puhui.federation import national
from puhui.federation.local import SEED_EXAMPLES
from puhui.kit import migrations
from puhui.kit.db import Database
from puhui.kit.inbox import InvalidEvent


def envelope(node: str, event: Message) -> envelope_pb2.EventEnvelope:
    payload = any_pb2.Any()
    payload.Pack(event)
    return envelope_pb2.EventEnvelope(
        event_id=str(uuid.uuid4()),
        type=event.DESCRIPTOR.full_name,
        source_node=node,
        source_service="catalog",
        payload=payload,
    )


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'federation.db'}"
    migrations.upgrade("federation", url)
    database = Database(url)
    database.start()
    try:
        yield database
    finally:
        database.stop()


def test_example_ids_are_unique_across_the_federation() -> None:
    owners: dict[str, str] = {}
    for node, examples in SEED_EXAMPLES.items():
        institutions, _ = seed.generate(node, examples, 7)
        for inst in institutions:
            assert inst.owning_node == node
            assert inst.institution_id.startswith(f"{node}-")
            assert owners.setdefault(inst.institution_id, node) == node, inst.institution_id
    assert len(owners) == sum(SEED_EXAMPLES.values())


def test_national_figures_equal_what_each_node_holds(db: Database) -> None:
    held: dict[str, tuple[int, int]] = {}
    with db.transaction() as session:
        for node, examples in SEED_EXAMPLES.items():
            institutions, items = seed.generate(node, examples, 7)
            held[node] = (len(institutions), len(items))
            for inst in institutions:
                event = catalog_events.InstitutionChanged(
                    change="created", institution=institution_to_proto(inst)
                )
                national.apply_catalog(session, envelope(node, event))
            for item in items:
                changed = catalog_events.ServiceItemChanged(
                    change="created", item=item_to_proto(item)
                )
                national.apply_catalog(session, envelope(node, changed))
    figures = {f.node_id: (f.institutions, f.current_service_items) for f in national.figures(db)}
    assert figures == held
    assert figures["000000"][0] == SEED_EXAMPLES["000000"]  # not 1 of 60


def test_a_node_cannot_publish_another_nodes_institution_or_item(db: Database) -> None:
    institutions, items = seed.generate("320000", 5, 7)
    with db.transaction() as session:
        with pytest.raises(InvalidEvent):
            national.apply_catalog(
                session,
                envelope(
                    "000000",
                    catalog_events.InstitutionChanged(
                        change="created", institution=institution_to_proto(institutions[0])
                    ),
                ),
            )
        with pytest.raises(InvalidEvent):
            national.apply_catalog(
                session,
                envelope(
                    "000000",
                    catalog_events.ServiceItemChanged(
                        change="created", item=item_to_proto(items[0])
                    ),
                ),
            )

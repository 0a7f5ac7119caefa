"""DataSets' own use cases (put and get through its Store), with fakes of our own adapters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from puhui.data import domain
from puhui.data.errors import ReadOnlyMirror, RecordNotFound
from puhui.data.tests.fakes import FakeStore
from puhui.kit.errors import InvalidArgument

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def data_sets(store: FakeStore, *, mirror: bool = False) -> domain.DataSets:
    return domain.DataSets("000000", mirror=mirror, store=store, clock=lambda: NOW)


def patent(**kw) -> domain.Patent:
    fields = {
        "application_number": "CN202121635235.X",
        "office": "",
        "title": "一种 监控 装置",
        "filing_date": "20210715",
    }
    fields.update(kw)
    return domain.Patent(**fields)


def test_put_normalises_writes_announces_and_gets_back():
    store = FakeStore()
    sets = data_sets(store)
    first = sets.put(patent())
    assert first.outcome == domain.INSERTED
    assert first.patent.record_id == "CN202121635235"
    assert first.patent.updated_at == NOW
    assert store.events.published == [("inserted", "CN202121635235", True)]
    assert sets.put(patent()).outcome == domain.UNCHANGED
    found = sets.patent("ZL 202121635235.X")
    assert (found.record_id, found.filing_date) == ("CN202121635235", "2021-07-15")


def test_put_reports_field_paths_and_writes_nothing_when_invalid():
    store = FakeStore()
    with pytest.raises(InvalidArgument) as err:
        data_sets(store).put(patent(filing_date="2021-13-45"))
    assert "patent.filing_date" in {v.field for v in err.value.violations}
    gi = domain.GeographicalIndication(gi_id="AGI00001", name="")
    with pytest.raises(InvalidArgument) as err:
        data_sets(store).put(gi)
    assert {v.field for v in err.value.violations} >= {"indication.name"}
    assert store.writes == 0
    assert store.repo.records == {}


def test_a_mirror_refuses_puts_before_anything_is_written():
    store = FakeStore()
    with pytest.raises(ReadOnlyMirror):
        data_sets(store, mirror=True).put(patent())
    assert store.writes == 0


def test_get_unknown_is_not_found():
    with pytest.raises(RecordNotFound):
        data_sets(FakeStore()).patent("CN202121635235.X")

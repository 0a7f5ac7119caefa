"""Upserts, content hashes and mirroring rules, with fakes of our own adapters."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from puhui.data import domain
from puhui.data.errors import ReadOnlyMirror, RecordNotFound
from puhui.data.tests.fakes import FakeEvents, FakePatentRepository
from puhui.kit.errors import InvalidArgument

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def raw(**kw) -> domain.Patent:
    fields = {
        "application_number": "CN202121635235.X",
        "office": "",
        "publication_number": "CN217546176U",
        "title": "一种 监控 装置",
        "applicants": (domain.Party("中科大数据研究院", "410000"),),
        "ipc_codes": ("H04N7/18",),
        "filing_date": "20210715",
        "publication_date": "0",
    }
    fields.update(kw)
    return domain.Patent(**fields)


def test_normalise_patent_canonicalises_every_field():
    p = domain.normalise_patent(raw())
    assert p.record_id == "CN202121635235"
    assert (p.office, p.publication_number, p.kind) == ("CN", "CN217546176", "U")
    assert p.title == "一种 监控 装置"
    assert p.ipc_codes == ("H04N 7/18",)
    assert (p.filing_date, p.publication_date) == ("2021-07-15", "")
    assert p.applicants[0].country == "CN"
    assert p.province_code == "410000"
    assert p.content_hash == domain.content_hash(p)


def test_normalise_reports_every_bad_field():
    with pytest.raises(InvalidArgument) as err:
        domain.normalise_patent(
            raw(
                application_number="CN202121635235.1",
                title=" ",
                ipc_codes=("nonsense",),
                grant_date="2015-02-30",
            )
        )
    fields = {v.field for v in err.value.violations}
    assert fields == {
        "patent.application_number",
        "patent.title",
        "patent.ipc_codes[0]",
        "patent.grant_date",
    }


def test_upsert_inserts_skips_unchanged_and_updates_with_change_feed():
    repo, events = FakePatentRepository(), FakeEvents()
    ds = domain.DataSets("000000")
    p = domain.normalise_patent(raw())
    (first,) = ds.upsert_patents(repo, events, [p], NOW)
    (second,) = ds.upsert_patents(repo, events, [p], NOW)
    changed = domain.normalise_patent(raw(legal_status="无权"))
    (third,) = ds.upsert_patents(repo, events, [changed], NOW, announce=True)
    assert [first.outcome, second.outcome, third.outcome] == ["inserted", "unchanged", "updated"]
    assert [(c.change, c.previous_hash) for c in repo.changes] == [
        ("inserted", ""),
        ("updated", p.content_hash),
    ]
    assert events.published == [
        ("inserted", "CN202121635235", False),
        ("updated", "CN202121635235", True),
    ]
    assert [r.content_hash for r in repo.records.values()] == [changed.content_hash]
    assert ds.get_patent(repo, "217546176U").legal_status == "无权"


def test_data_set_hash_is_order_independent():
    hashes = [domain.content_hash(domain.normalise_patent(raw(title=f"标题{i}"))) for i in range(5)]
    assert domain.combine(0, hashes) == domain.combine(0, list(reversed(hashes)))
    assert domain.combine(domain.combine(0, hashes), removed=hashes[:2]) == domain.combine(
        0, hashes[2:]
    )


def test_mirror_applies_newer_versions_only_and_checks_hashes():
    repo = FakePatentRepository()
    ds = domain.DataSets("440000", mirror=True)
    v1 = replace(domain.normalise_patent(raw()), sequence=5)
    v2 = replace(domain.normalise_patent(raw(legal_status="无权")), sequence=9)
    assert ds.apply_mirrored(repo, v2, NOW) == "inserted"
    assert ds.apply_mirrored(repo, v1, NOW) == "unchanged"  # an older version arriving late
    assert repo.get("CN202121635235").legal_status == "无权"
    with pytest.raises(InvalidArgument):
        ds.apply_mirrored(repo, replace(v2, title="篡改", sequence=10), NOW)
    with pytest.raises(ReadOnlyMirror):
        ds.require_writable()


def test_mirror_batch_applies_as_one_by_one_would():
    """A polled batch: one read of the stored versions, one save; the same record twice (an
    update right after its insert) ends as the later version with both changes recorded;
    an older version arriving late changes nothing."""
    ds = domain.DataSets("440000", mirror=True)
    v1 = replace(domain.normalise_patent(raw()), sequence=5)
    v2 = replace(domain.normalise_patent(raw(legal_status="无权")), sequence=9)
    other = replace(
        domain.normalise_patent(raw(application_number="CN202110012345.9", publication_number="")),
        sequence=7,
    )
    batch_repo, one_repo = FakePatentRepository(), FakePatentRepository()
    outcomes = ds.apply_mirrored_many(batch_repo, [v1, other, v2, v1], NOW)
    assert outcomes == ["inserted", "inserted", "updated", "unchanged"]
    singles = [ds.apply_mirrored(one_repo, r, NOW) for r in (v1, other, v2, v1)]
    assert singles == outcomes
    assert batch_repo.get("CN202121635235").legal_status == "无权"
    assert [(c.record_id, c.change) for c in batch_repo.changes] == [
        (c.record_id, c.change) for c in one_repo.changes
    ]
    assert ds.apply_mirrored_many(batch_repo, [v2, other], NOW) == ["unchanged", "unchanged"]
    assert ds.apply_mirrored_many(batch_repo, [], NOW) == []


def test_get_unknown_is_not_found_and_garbage_invalid():
    ds, repo = domain.DataSets("000000"), FakePatentRepository()
    with pytest.raises(RecordNotFound):
        ds.get_patent(repo, "CN202121635235.X")
    with pytest.raises(InvalidArgument):
        ds.get_patent(repo, "hello?")

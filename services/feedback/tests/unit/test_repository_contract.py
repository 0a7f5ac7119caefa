"""The in-memory fake and the SQL repository (on SQLite) honour one contract."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from puhui.feedback import domain
from puhui.feedback.adapters.db import SqlRepository, catalog_items, identity_persons
from puhui.feedback.adapters.indices import bump
from puhui.feedback.tests.unit.fakes import FakeRepository

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


@pytest.fixture(params=["fake", "sql"])
def repo(request):
    if request.param == "fake":
        yield FakeRepository()
        return
    db = request.getfixturevalue("sqlite_db")
    with db.transaction() as session:
        yield SqlRepository(session)


def case(case_id: str = "c1", request_id: str = "q1") -> domain.ServiceCase:
    return domain.ServiceCase(
        case_id=case_id,
        institution_id="i1",
        service_item_id="s1",
        person_id="440000:p",
        node_id="440000",
        request_id=request_id,
        recorded_by="staff",
        recorded_at=NOW,
        token_hash=f"hash-{case_id}",
        completed_at=NOW,
        invitation_expires_at=NOW,
    )


def test_cases_round_trip(repo):
    repo.add_case(case())
    assert repo.get_case("c1") == case()
    assert repo.case_by_request("i1", "q1") == case()
    assert repo.case_by_token("hash-c1") == case()
    assert repo.case_by_token("nope") is None
    updated = domain.ServiceCase(**{**case().__dict__, "rated_stages": (domain.Stage.ACCEPTANCE,)})
    repo.update_case(updated)
    assert repo.get_case("c1") == updated


def test_ratings_tickets_and_appeals_round_trip(repo):
    rating = domain.Rating(
        rating_id="r1",
        case_id="c1",
        stage=domain.Stage.COMPLETION,
        channel=domain.Channel.ON_SITE,
        level=domain.Level.DISSATISFIED,
        institution_id="i1",
        service_item_id="s1",
        node_id="440000",
        rated_at=NOW,
        received_at=NOW,
        indicators=(("attitude", domain.Level.DISSATISFIED),),
        kiosk_id="k1",
        client_rating_id="x1",
        ticket_id="t1",
    )
    repo.add_rating(rating)
    assert repo.get_rating("r1") == rating
    assert repo.rating_by_client("k1", "x1") == rating
    assert repo.rating_by_client("k1", "x2") is None
    repo.set_excluded("r1")
    assert repo.get_rating("r1").excluded

    ticket = domain.Ticket(
        ticket_id="t1",
        rating_id="r1",
        institution_id="i1",
        service_item_id="s1",
        node_id="440000",
        state=domain.TicketState.OPEN,
        opened_at=NOW,
        due_date=date(2026, 11, 27),
        deadline_working_days=5,
        history=(domain.Transition(None, domain.TicketState.OPEN, "system", NOW, ""),),
    )
    repo.add_ticket(ticket)
    assert repo.get_ticket("t1") == ticket
    assert repo.overdue_tickets(date(2026, 11, 27), 10) == []
    assert repo.overdue_tickets(date(2026, 11, 28), 10) == [ticket]
    moved = domain.transition(ticket, domain.TicketState.VERIFYING, "s", "n", NOW)
    repo.update_ticket(moved)
    assert repo.get_ticket("t1") == moved
    items, total = repo.list_tickets(domain.TicketQuery("i1", "440000", states=(2,)), 10, "")
    assert (items, total) == ([moved], 1)
    assert repo.list_tickets(domain.TicketQuery("i1", "440000", breached_only=True), 10, "") == (
        [],
        0,
    )

    appeal = domain.Appeal("a1", "r1", "mistaken", "s", domain.Decision.PENDING, "staff", NOW)
    repo.add_appeal(appeal)
    assert repo.get_appeal("a1") == appeal
    decided = domain.Appeal(
        **{**appeal.__dict__, "decision": domain.Decision.REJECTED, "decided_at": NOW}
    )
    repo.update_appeal(decided)
    assert list(repo.appeals_for("r1")) == [decided]


def test_reports_and_groups(repo):
    group = domain.ReportGroup("g1", domain.ReportKind.NEED, "TRAINING", "440300", "需要培训", 1)
    repo.add_group(group, NOW)
    repo.grow_group("g1")
    assert [g.size for g in repo.groups_in(domain.ReportKind.NEED, "TRAINING", "440300")] == [2]
    assert list(repo.groups_in(domain.ReportKind.NEED, "TRAINING", "440100")) == []
    for n, region in enumerate(["440300", "440300", "440106"]):
        repo.add_report(
            domain.Report(
                f"rep{n}",
                domain.ReportKind.NEED,
                domain.CollectionPoint.SURVEY,
                "TRAINING",
                region,
                "t",
                "g1",
                NOW,
            )
        )
    assert sorted(repo.need_counts("")) == [("TRAINING", "440106", 1), ("TRAINING", "440300", 2)]
    assert list(repo.need_counts("440300")) == [("TRAINING", "440300", 2)]
    assert list(repo.suppliers("TRAINING")) == []


def test_list_ratings_newest_first_with_filters_and_cursor(repo):
    base = {
        "stage": domain.Stage.COMPLETION,
        "channel": domain.Channel.ONLINE,
        "institution_id": "i1",
        "service_item_id": "s1",
        "node_id": "440000",
        "received_at": NOW,
    }
    for n in range(5):
        repo.add_rating(
            domain.Rating(
                rating_id=f"r{n}",
                case_id=f"c{n}",
                level=domain.Level.DISSATISFIED if n % 2 else domain.Level.SATISFIED,
                rated_at=NOW.replace(hour=n),
                flagged=n >= 3,
                **base,
            )
        )
    page, total = repo.list_ratings(domain.RatingQuery("i1", "440000"), 2, "")
    assert ([r.rating_id for r in page], total) == (["r4", "r3"], 5)
    after = domain.rating_sort_key(page[-1])
    page, _ = repo.list_ratings(domain.RatingQuery("i1", "440000"), 2, after)
    assert [r.rating_id for r in page] == ["r2", "r1"]
    flagged, total = repo.list_ratings(
        domain.RatingQuery("i1", "440000", flagged_only=True), 10, ""
    )
    assert ([r.rating_id for r in flagged], total) == (["r4", "r3"], 2)
    bad, _ = repo.list_ratings(domain.RatingQuery("i1", "440000", bad_only=True), 10, "")
    assert [r.rating_id for r in bad] == ["r3", "r1"]


def test_read_models_of_items_and_persons(repo):
    if isinstance(repo, FakeRepository):
        repo.items["s1"] = "i1"
        repo.persons.add("440000:p")
    else:
        repo.session.execute(
            catalog_items.insert().values(
                item_id="s1", institution_id="i1", category="TRAINING", version=1
            )
        )
        repo.session.execute(identity_persons.insert().values(person_id="440000:p"))
    assert repo.item_institution("s1") == "i1"
    assert repo.item_institution("s2") is None
    assert repo.person_known("440000:p")
    assert not repo.person_known("440000:q")


def test_report_groups_largest_first_by_kind_and_region_with_cursor(repo):
    for gid, kind, region, size in [
        ("g1", domain.ReportKind.NEED, "440300", 3),
        ("g2", domain.ReportKind.NEED, "440106", 3),
        ("g3", domain.ReportKind.COMPLAINT, "440300", 5),
        ("g4", domain.ReportKind.NEED, "320100", 1),
    ]:
        repo.add_group(domain.ReportGroup(gid, kind, "TRAINING", region, "t", size), NOW)
    page, total = repo.list_groups(0, "", 2, "")
    assert ([g.group_id for g in page], total) == (["g3", "g1"], 4)
    page, _ = repo.list_groups(0, "", 2, domain.group_sort_key(page[-1]))
    assert [g.group_id for g in page] == ["g2", "g4"]
    needs, total = repo.list_groups(int(domain.ReportKind.NEED), "440000", 10, "")
    assert ([g.group_id for g in needs], total) == (["g1", "g2"], 2)


def test_index_counts_read_the_aggregate_rows(repo):
    counts = domain.IndexCounts(rating_count=3, satisfied_count=2, bad_count=1)
    if isinstance(repo, FakeRepository):
        repo.indices[("institution:i1", "2026-11")] = counts
    else:
        bump(repo.session, ("institution:i1",), ("2026-11",), counts.__dict__)
    assert repo.index_counts("institution:i1", "2026-11") == counts
    assert repo.index_counts("institution:i1", "2026-10") == domain.IndexCounts()

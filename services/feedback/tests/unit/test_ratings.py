"""Cases, ratings, appeals and reports through the domain with fakes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from puhui.feedback import domain, errors
from puhui.feedback.domain import Channel, Decision, Level, Stage
from puhui.feedback.tests.support import INSTITUTION, NODE, person, province_admin, staff
from puhui.feedback.tests.unit.fakes import (
    CountingBursts,
    FakeRepository,
    FakeSink,
    FakeUnitOfWork,
    SeqIds,
)
from puhui.feedback.workdays import national
from puhui.kit.auth import ANONYMOUS, Principal
from puhui.kit.errors import InvalidArgument, PermissionDenied, Unauthenticated

NOW = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)  # 10:00 in Beijing, the eve of National Day


@pytest.fixture
def world():
    settings = domain.Settings(
        invitation_days=15,
        province_deadlines={"440000": 5, "320000": 15},
        calendar=national(),
        burst_limit=3,
    )
    repo = FakeRepository(items={"item-1": INSTITUTION}, persons={"440000:person-1"})
    sink, bursts, ids = FakeSink(), CountingBursts(), SeqIds()
    feedback = domain.Feedback(
        node=NODE,
        token_key=b"secret",
        uow=FakeUnitOfWork(repo, sink),
        bursts=bursts,
        settings=settings,
        ids=ids,
        clock=lambda: NOW,
    )
    return feedback, repo, sink, bursts, ids


def record(world, **kw):
    feedback, repo, _, _, _ = world
    fields = {
        "institution_id": INSTITUTION,
        "service_item_id": "item-1",
        "person_id": "440000:person-1",
        "completed_at": NOW - timedelta(hours=1),
        "request_id": f"req-{len(repo.cases)}",
    }
    fields.update(kw)
    return feedback.record_case(staff(), domain.NewCase(**fields))


def rate(world, token, principal=ANONYMOUS, when=NOW, **kw):
    feedback = world[0]
    fields = {
        "token": token,
        "stage": Stage.COMPLETION,
        "channel": Channel.ONLINE,
        "level": Level.SATISFIED,
    }
    fields.update(kw)
    feedback.clock = lambda: when
    try:
        return feedback.submit_rating(principal, domain.NewRating(**fields))
    finally:
        feedback.clock = lambda: NOW


def test_record_is_idempotent_and_stores_only_the_hash(world):
    case, token = record(world, request_id="r")
    again, token2 = record(world, request_id="r")
    assert again.case_id == case.case_id
    assert token2 == token
    assert token not in case.token_hash
    assert world[2].kinds() == ["case_recorded"]
    assert case.invitation_expires_at == case.completed_at + timedelta(days=15)


def test_replaying_a_request_id_for_another_case_is_refused(world):
    record(world, request_id="r")
    with pytest.raises(errors.AlreadyExists):
        record(world, request_id="r", service_item_id="other")


def test_cases_of_another_nodes_institution_are_refused(world):
    feedback = world[0]
    new = domain.NewCase("320000-000001", "item", "", None, "r")
    with pytest.raises(InvalidArgument) as info:
        feedback.validate_case(new, NOW)
    assert [v.field for v in info.value.violations] == ["institution_id"]


def test_a_case_needs_the_institutions_own_item_and_a_registered_person(world):
    _, repo, sink, _, _ids = world
    repo.items["item-of-another"] = "440000-000002"
    with pytest.raises(InvalidArgument) as other_item:
        record(world, service_item_id="item-of-another")
    assert [v.field for v in other_item.value.violations] == ["service_item_id"]
    with pytest.raises(InvalidArgument) as unknown_person:
        record(world, person_id="440000:nobody")
    assert [v.field for v in unknown_person.value.violations] == ["person_id"]
    assert repo.cases == {}
    assert sink.events == []
    # not yet published by the catalog: accepted; a person of another node: taken as given
    record(world, service_item_id="item-new", person_id="320000:someone")
    repo.persons.add("440000:nobody")  # identity's event arrived: the retry succeeds
    record(world, person_id="440000:nobody")


def test_only_staff_of_the_institution_records_cases(world):
    feedback, repo, _, _, _ = world
    new = domain.NewCase(INSTITUTION, "item", "", None, "r")
    with pytest.raises(PermissionDenied):
        feedback.record_case(staff("440000-000009"), new)
    with pytest.raises(Unauthenticated):
        feedback.record_case(ANONYMOUS, new)
    assert repo.cases == {}


def test_token_is_single_use_per_stage(world):
    _, token = record(world)
    rating = rate(world, token)
    assert rating.level == Level.SATISFIED
    assert not rating.late
    with pytest.raises(errors.TokenAlreadyUsed) as info:
        rate(world, token, level=Level.VERY_SATISFIED)
    assert info.value.reason == "RATING_TOKEN_USED"
    # Another stage of the same case is a separate rating.
    rate(world, token, stage=Stage.ACCEPTANCE)
    assert sorted(world[1].cases[rating.case_id].rated_stages) == [
        Stage.ACCEPTANCE,
        Stage.COMPLETION,
    ]


def test_unknown_token_and_bad_fields_are_invalid_with_field_paths(world):
    with pytest.raises(InvalidArgument) as info:
        rate(world, "rt_unknown")
    assert [v.field for v in info.value.violations] == ["rating_token"]
    with pytest.raises(InvalidArgument) as info:
        rate(world, "", level=6, stage=0, channel=9, comment="x" * 2001)
    assert {v.field for v in info.value.violations} == {
        "rating_token",
        "level",
        "stage",
        "channel",
        "comment",
    }


def test_indicators_belong_to_the_channel(world):
    _, token = record(world)
    with pytest.raises(InvalidArgument) as info:
        rate(world, token, indicators=(("attitude", 1), ("overall", 7)))  # on-site indicator online
    assert {v.field for v in info.value.violations} == {
        "indicators[0].indicator",
        "indicators[1].level",
    }
    ok = rate(
        world, token, channel=Channel.ON_SITE, indicators=(("attitude", 1), ("professionalism", 2))
    )
    assert dict(ok.indicators) == {
        "attitude": Level.VERY_SATISFIED,
        "professionalism": Level.SATISFIED,
    }


def test_staff_cannot_rate_their_own_institution(world):
    _, token = record(world)
    with pytest.raises(errors.OwnInstitution):
        rate(world, token, principal=staff())
    assert world[1].ratings == {}


def test_nobody_rates_in_another_persons_name(world):
    _, token = record(world)
    with pytest.raises(PermissionDenied):
        rate(world, token, principal=person("440000:someone-else"))
    with pytest.raises(InvalidArgument) as info:
        rate(world, token, real_name=True)  # anonymous cannot claim real name
    assert [v.field for v in info.value.violations] == ["real_name"]
    rating = rate(world, token, principal=person(), real_name=True)
    assert rating.rater == "440000:person-1"


def test_case_in_progress_cannot_rate_completion(world):
    feedback = world[0]
    case, token = record(world, in_progress=True)
    assert not case.completed
    with pytest.raises(errors.CaseNotCompleted):
        rate(world, token)
    rate(world, token, stage=Stage.ACCEPTANCE)
    feedback.complete_case(staff(), case.case_id, None)
    assert rate(world, token).stage == Stage.COMPLETION


def test_late_rating_is_accepted_and_marked(world):
    _, token = record(world)
    rating = rate(world, token, when=NOW + timedelta(days=16))
    assert rating.late


def test_bursts_from_one_device_are_flagged(world):
    flags = []
    for i in range(5):
        _, token = record(world, request_id=f"b{i}")
        flags.append(rate(world, token, device_id="kiosk-7").flagged)
    assert flags == [False, False, False, True, True]


def test_bursts_from_one_address_have_their_own_limit(world):
    world[0].settings.burst_address_limit = 4
    caller = Principal(client_address="ipv4:10.0.0.8")
    flags = []
    for i in range(6):
        _, token = record(world, request_id=f"a{i}", person_id="")
        flags.append(rate(world, token, principal=caller).flagged)
    assert flags == [False, False, False, False, True, True]


def test_bad_review_opens_a_ticket_on_the_working_day_calendar(world):
    _, token = record(world)
    rating = rate(world, token, level=Level.VERY_DISSATISFIED, principal=person(), real_name=True)
    ticket = world[1].tickets[rating.ticket_id]
    assert ticket.state == domain.TicketState.OPEN
    assert ticket.real_name
    # Opened 2026-09-30: National Day off, Saturday 10-10 works → 5 working days = 10-13.
    assert ticket.due_date == date(2026, 10, 13)
    assert ticket.deadline_working_days == 5
    assert world[2].kinds()[-2:] == ["rating_submitted", "ticket_changed"]


def test_province_deadline_applies(world):
    feedback = world[0]
    assert feedback.deadline_days("320000") == 15
    assert feedback.deadline_days("110000") == feedback.settings.deadline_working_days


def bad_review(world):
    _, token = record(world)
    return rate(world, token, level=Level.DISSATISFIED)


def test_upheld_appeal_excludes_the_review_and_voids_its_ticket(world):
    feedback, repo, _, _, _ = world
    rating = bad_review(world)
    appeal = feedback.file_appeal(staff(), rating.rating_id, "malicious", "刷差评")
    a1 = appeal.appeal_id
    assert appeal.decision == Decision.PENDING
    with pytest.raises(errors.AppealNotAllowed):
        feedback.file_appeal(staff(), rating.rating_id, "malicious", "again")
    with pytest.raises(PermissionDenied):
        feedback.decide_appeal(staff(), a1, Decision.UPHELD, "ok")
    with pytest.raises(PermissionDenied):
        feedback.decide_appeal(province_admin("320000"), a1, Decision.UPHELD, "ok")
    decided = feedback.decide_appeal(province_admin(), a1, Decision.UPHELD, "核实为恶意")
    assert decided.decision == Decision.UPHELD
    assert repo.ratings[rating.rating_id].excluded
    assert repo.tickets[rating.ticket_id].state == domain.TicketState.VOIDED
    with pytest.raises(errors.AppealNotAllowed):
        feedback.decide_appeal(province_admin(), a1, Decision.REJECTED, "x")


def test_rejected_appeal_keeps_the_review(world):
    feedback, repo, _, _, _ = world
    rating = bad_review(world)
    appeal = feedback.file_appeal(staff(), rating.rating_id, "mistaken", "误评")
    feedback.decide_appeal(province_admin(), appeal.appeal_id, Decision.REJECTED, "评价属实")
    assert not repo.ratings[rating.rating_id].excluded
    assert repo.tickets[rating.ticket_id].state == domain.TicketState.OPEN


def test_appeal_input_and_good_reviews(world):
    feedback = world[0]
    _, token = record(world)
    good = rate(world, token)
    with pytest.raises(InvalidArgument) as info:
        feedback.file_appeal(staff(), good.rating_id, "dislike", "")
    assert {v.field for v in info.value.violations} == {"grounds", "statement"}
    with pytest.raises(errors.AppealNotAllowed):
        feedback.file_appeal(staff(), good.rating_id, "mistaken", "x")


def test_reports_group_near_duplicates_within_category_and_region(world):
    feedback = world[0]

    def submit(text, category="PATENT_SEARCH", region="440300", kind=domain.ReportKind.NEED):
        return feedback.submit_report(
            domain.NewReport(kind, domain.CollectionPoint.HOTLINE, category, region, text)
        )

    first, joined = submit("希望在深圳开设专利检索培训和咨询服务")
    assert not joined
    second, joined = submit("希望在深圳开设专利检索培训与咨询服务！")
    assert joined
    assert second.group_id == first.group_id
    other_region, joined = submit("希望在深圳开设专利检索培训和咨询服务", region="440100")
    assert not joined
    different, joined = submit("商标注册流程太复杂，窗口排队时间长")
    assert not joined
    assert len({first.group_id, other_region.group_id, different.group_id}) == 3


def test_report_validation_names_fields(world):
    feedback = world[0]
    with pytest.raises(InvalidArgument) as info:
        feedback.validate_report(domain.NewReport(9, 0, "COOKING", "320100", ""))
    assert {v.field for v in info.value.violations} == {
        "kind",
        "source",
        "category",
        "region_code",
        "text",
    }


def test_demand_without_supply(world):
    feedback, repo, _, _, _ = world
    for region, category in [
        ("440300", "PATENT_SEARCH"),
        ("440300", "PATENT_SEARCH"),
        ("440100", "TRAINING"),
    ]:
        feedback.submit_report(
            domain.NewReport(
                domain.ReportKind.NEED,
                domain.CollectionPoint.SURVEY,
                category,
                region,
                f"需要{category}",
            )
        )
    # A Guangzhou institution offers training; nobody offers patent search in Shenzhen.
    repo.supply["TRAINING"] = [domain.Supplier("440100")]
    repo.supply["PATENT_SEARCH"] = [domain.Supplier("440100")]
    with pytest.raises(Unauthenticated):
        feedback.demand_without_supply(ANONYMOUS, "")
    with pytest.raises(PermissionDenied):
        feedback.demand_without_supply(staff(), "")
    unmet = feedback.demand_without_supply(province_admin(), "")
    assert [(u.category, u.region_code, u.need_count) for u in unmet] == [
        ("PATENT_SEARCH", "440300", 2)
    ]
    # A province-level institution serves every city of the province.
    repo.supply["PATENT_SEARCH"].append(domain.Supplier("440000"))
    assert feedback.demand_without_supply(province_admin(), "440000") == []


def test_index_rates_and_scopes():
    counts = domain.IndexCounts(
        rating_count=10,
        satisfied_count=8,
        bad_count=2,
        tickets_on_time=1,
        tickets_breached=1,
        follow_ups=1,
        appeals_filed=1,
    )
    rates = counts.rates()
    assert rates["satisfied_share"] == 0.8
    assert rates["bad_review_rate"] == 0.2
    assert rates["rectification_on_time_rate"] == 0.5
    assert rates["follow_up_rate"] == 0.5
    assert domain.IndexCounts().rates()["satisfied_share"] == 0.0
    assert domain.periods_of(datetime(2026, 12, 31, 17, 0, tzinfo=UTC)) == (
        "2027-01",
        "2027-Q1",
        "2027",
    )
    assert domain.index_scope("", "", "000000", "000000") == "all"
    assert domain.index_scope("i", "", "", NODE) == "institution:i"
    with pytest.raises(InvalidArgument):
        domain.index_scope("i", "x", "", NODE)
    assert [
        domain.valid_period(p) for p in ("2026", "2026-Q4", "2026-11", "2026-13", "2026-Q5", "x")
    ] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]


def test_principal_roles_scoped():
    p = Principal(
        subject="s",
        roles=frozenset({"institution_staff"}),
        role_scopes=(("institution_staff", "A"),),
    )
    assert domain.staff_of(p, "A")
    assert not domain.staff_of(p, "B")

"""Supply–demand matching, table-driven: reasons, gaps, nearest capable tier first."""

from __future__ import annotations

import pytest

from puhui.catalog import domain as d

E = d.Eligibility
OPEN = d.Eligibility()
ENTERPRISE, INDIVIDUAL = d.InnovatorType.ENTERPRISE, d.InnovatorType.INDIVIDUAL


def inst(iid: str, region: str, tier=d.Tier.PREFECTURE_CENTRE, area=(), ipc=(), capacity=50):
    return d.Institution(
        iid,
        "440000",
        iid,
        tier,
        region,
        service_area=area,
        ipc_fields=ipc,
        monthly_capacity=capacity,
        status=d.Status.APPROVED,
    )


def item(
    iid: str,
    inst_id: str,
    category=d.Category.PATENT_SEARCH,
    eligibility=OPEN,
    cost=d.CostClass.FREE,
    name="",
):
    return d.ServiceItem(
        iid,
        1,
        inst_id,
        "440000",
        "PS-01",
        name or f"专利检索{iid}",
        category,
        d.Channel.BOTH,
        cost,
        description="面向企业的专利检索",
        eligibility=eligibility,
        processing_days=3,
    )


COUNTY = inst("county", "440305")
CITY = inst("city", "440300")
PROVINCE = inst("province", "440000", tier=d.Tier.PROVINCIAL_BACKBONE)
NATIONAL = inst("national", "110000", tier=d.Tier.NATIONAL)
OTHER_COUNTY = inst("other", "440304")
SERVES_BY_AREA = inst("area", "440304", area=("440300",))
FULL = inst("full", "440305", capacity=0)
IPC = inst("ipc", "440305", ipc=("G06F",))

PROFILE = d.Profile(
    region_code="440305",
    innovator_type=ENTERPRISE,
    enterprise_size=d.EnterpriseSize.SMALL,
    stage=d.Stage.RND,
    needs=(d.Category.PATENT_SEARCH,),
)


@pytest.mark.parametrize(
    ("institution", "it", "profile", "reasons", "gaps"),
    [
        (
            COUNTY,
            item("a", "county"),
            PROFILE,
            ["offers patent search", "serves 440305", "free"],
            [],
        ),
        (CITY, item("a", "city"), PROFILE, ["offers patent search", "serves 440305", "free"], []),
        (
            NATIONAL,
            item("a", "national"),
            PROFILE,
            ["offers patent search", "national service", "free"],
            [],
        ),
        (
            OTHER_COUNTY,
            item("a", "other"),
            PROFILE,
            ["offers patent search", "free"],
            ["outside service area"],
        ),
        (
            SERVES_BY_AREA,
            item("a", "area"),
            PROFILE,
            ["offers patent search", "serves 440305", "free"],
            [],
        ),
        (
            COUNTY,
            item("a", "county", eligibility=E(innovator_types=(ENTERPRISE,))),
            d.Profile(region_code="440305", innovator_type=INDIVIDUAL, needs=(1,)),
            ["offers patent search", "serves 440305", "free"],
            ["requires an enterprise"],
        ),
        (
            COUNTY,
            item("a", "county", eligibility=E(enterprise_sizes=(d.EnterpriseSize.MICRO,))),
            PROFILE,
            ["offers patent search", "serves 440305", "free"],
            ["for micro enterprises only"],
        ),
        (
            COUNTY,
            item("a", "county", eligibility=E(stages=(d.Stage.DISPUTE,))),
            PROFILE,
            ["offers patent search", "serves 440305", "free"],
            ["intended for the dispute stage"],
        ),
        (
            FULL,
            item("a", "full"),
            PROFILE,
            ["offers patent search", "serves 440305", "free"],
            ["no capacity this month"],
        ),
        (
            IPC,
            item("a", "ipc", cost=d.CostClass.PAID),
            d.Profile(region_code="440305", ipc_fields=("G06F 16/00",), stage=d.Stage.RND),
            [
                "patent search suits the R&D stage",
                "serves 440305",
                "IPC G06F in institution fields",
            ],
            [],
        ),
    ],
)
def test_reasons_and_gaps(institution, it, profile, reasons, gaps):
    m = d.score_match(it, institution, profile, d.wanted_categories(profile), "en")
    assert list(m.reasons) == reasons
    assert list(m.gaps) == gaps


def test_nearest_capable_tier_first_and_deterministic():
    candidates = [
        (item("n1", "national"), NATIONAL),
        (item("p1", "province"), PROVINCE),
        (item("c1", "city"), CITY),
        (item("k1", "county"), COUNTY),
        (item("x1", "other"), OTHER_COUNTY),
        (item("f1", "full"), FULL),
        (item("k2", "county", eligibility=E(innovator_types=(INDIVIDUAL,))), COUNTY),
    ]
    wanted = d.wanted_categories(PROFILE)
    ranked = d.rank([d.score_match(i, s, PROFILE, wanted) for i, s in candidates], 10)
    assert [m.item.item_id for m in ranked] == ["k1", "c1", "p1", "n1", "k2", "f1", "x1"]
    again = d.rank([d.score_match(i, s, PROFILE, wanted) for i, s in reversed(candidates)], 10)
    assert [m.item.item_id for m in again] == [m.item.item_id for m in ranked]


def test_at_most_three_items_per_institution():
    candidates = [(item(f"k{n}", "county"), COUNTY) for n in range(5)] + [
        (item("c1", "city"), CITY)
    ]
    ranked = d.rank([d.score_match(i, s, PROFILE, (1,)) for i, s in candidates], 10)
    assert [m.item.item_id for m in ranked] == ["k0", "k1", "k2", "c1"]


@pytest.mark.parametrize(
    ("profile", "wanted"),
    [
        (d.Profile("440305", needs=(4, 1, 4)), (1, 4)),
        (d.Profile("440305", stage=d.Stage.DISPUTE), (4,)),
        (d.Profile("440305", stage=d.Stage.GRANTED), (2, 5)),
        (d.Profile("440305"), tuple(range(1, 9))),
    ],
)
def test_wanted_categories(profile, wanted):
    assert d.wanted_categories(profile) == wanted


def test_reasons_and_gaps_in_chinese_by_default_with_names_from_the_data():
    it = item(
        "a", "county", eligibility=E(innovator_types=(INDIVIDUAL, d.InnovatorType.UNIVERSITY))
    )
    m = d.score_match(it, COUNTY, PROFILE, d.wanted_categories(PROFILE))
    assert list(m.reasons) == ["提供专利检索", "服务南山区（440305）", "免费"]
    assert list(m.gaps) == ["仅限个人或高校"]


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_no_stage_and_no_needs_leaves_no_empty_slot(language):
    profile = d.Profile(region_code="440305")
    for code in sorted(d.STANDARD_SERVICES):
        it = item(code, "county", category=d.STANDARD_SERVICES[code][0])
        m = d.score_match(it, COUNTY, profile, d.wanted_categories(profile), language)
        for text in (*m.reasons, *m.gaps):
            assert "  " not in text
            assert "suits" not in text
            assert "适合" not in text


NEEDS = [  # free text -> categories it asks for
    ("想做专利检索和商标注册", {d.Category.PATENT_SEARCH, d.Category.TRADEMARK_GI_CONSULTATION}),
    ("遇到侵权纠纷", {d.Category.RIGHTS_PROTECTION}),
    ("patent licensing and prior art search", {d.Category.IP_OPERATIONS, d.Category.PATENT_SEARCH}),
    ("research on batteries", set()),  # "research" is not "search"
    ("", set()),
]


@pytest.mark.parametrize(("needs_text", "categories"), NEEDS)
def test_free_text_needs_choose_the_categories(needs_text, categories):
    profile = d.Profile(region_code="440305", stage=d.Stage.GRANTED, needs_text=needs_text)
    wanted = set(d.wanted_categories(profile))
    if categories:
        assert wanted == categories
    else:  # nothing named: the stage decides
        assert wanted == set(d.STAGE_NEEDS[d.Stage.GRANTED])


def test_free_text_needs_rank_and_explain_the_match():
    profile = d.Profile(region_code="440305", needs_text="需要商标注册咨询")
    trademark = item(
        "tm", "county", category=d.Category.TRADEMARK_GI_CONSULTATION, name="商标注册咨询"
    )
    search = item("ps", "county", category=d.Category.PATENT_SEARCH, name="专利检索")
    wanted = d.wanted_categories(profile)
    assert wanted == (d.Category.TRADEMARK_GI_CONSULTATION,)
    tm = d.score_match(trademark, COUNTY, profile, wanted)
    ps = d.score_match(search, COUNTY, profile, wanted)
    assert tm.score > ps.score
    assert tm.reasons[0] == "提供商标与地理标志咨询，符合需求“商标”"
    assert "服务说明提到“商标注册咨询”" in tm.reasons
    english = d.score_match(trademark, COUNTY, profile, wanted, "en")
    assert english.reasons[0] == "offers trademark and GI consultation, as asked ('商标')"

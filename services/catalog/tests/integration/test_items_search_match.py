"""Service items, search and matching against real PostgreSQL, through a real gRPC server."""

from __future__ import annotations

import grpc
import pytest
from sqlalchemy import text

from puhui.catalog.tests.support import GD_ADMIN, JS_ADMIN, NATIONAL, institution, item, staff
from puhui.catalog.v1 import catalog_pb2

pytestmark = pytest.mark.integration

S = catalog_pb2


def code_of(call) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code()


def add(catalog, approve: bool = True, **kw) -> S.Institution:
    admin = catalog.as_(GD_ADMIN)
    created = admin.CreateInstitution(S.CreateInstitutionRequest(institution=institution(**kw)))
    if approve:
        approver = (
            NATIONAL
            if created.tier in (S.INSTITUTION_TIER_TISC, S.INSTITUTION_TIER_UNIVERSITY_CENTRE)
            else GD_ADMIN
        )
        created = catalog.as_(approver).ApproveInstitution(
            S.ChangeInstitutionStatusRequest(institution_id=created.institution_id)
        )
    return created


def publish(catalog, inst: S.Institution, **kw) -> S.ServiceItem:
    return catalog.as_(staff(inst.institution_id)).CreateServiceItem(
        S.CreateServiceItemRequest(item=item(inst.institution_id, **kw))
    )


@pytest.fixture(scope="module")
def world(shared_catalog):
    """A small Guangdong: a county centre in 南山 440305, a Shenzhen city centre, a
    Guangzhou provincial backbone whose service area is the whole province, a 福田 440304
    outlet serving only its own county, a TISC in 广州 with IPC fields, and a pending one."""
    c = shared_catalog
    w = {
        "county": add(
            c,
            name="南山区知识产权工作站",
            region_code="440305",
            tier=S.INSTITUTION_TIER_KEY_NETWORK_OUTLET,
            description="科技园企业专利服务",
            ipc_fields=["H04L"],
        ),
        "city": add(
            c,
            name="深圳市知识产权运营中心",
            region_code="440300",
            tier=S.INSTITUTION_TIER_PREFECTURE_CENTRE,
            description="专利导航与运营",
            ipc_fields=["G06F 16/00"],
            service_area=["440300"],
        ),
        "backbone": add(
            c,
            name="广东省知识产权公共服务中心",
            region_code="440100",
            tier=S.INSTITUTION_TIER_PROVINCIAL_BACKBONE,
            service_area=["440000"],
            description="全省知识产权公共服务骨干节点",
            ipc_fields=["A61K"],
        ),
        "futian": add(
            c,
            name="福田区维权援助工作站",
            region_code="440304",
            tier=S.INSTITUTION_TIER_KEY_NETWORK_OUTLET,
            description="维权援助",
            ipc_fields=[],
        ),
        "tisc": add(
            c,
            name="华南理工大学技术与创新支持中心",
            region_code="440100",
            tier=S.INSTITUTION_TIER_TISC,
            description="高校专利检索分析",
            ipc_fields=["G06F"],
        ),
        "pending": add(
            c,
            approve=False,
            name="南山区待审服务站",
            region_code="440305",
            tier=S.INSTITUTION_TIER_MARKET_PROVIDER,
            description="尚未批准",
        ),
    }
    items = {
        "county_search": publish(
            c,
            w["county"],
            name="南山专利检索",
            service_code="PS-01",
            eligibility=S.Eligibility(innovator_types=[S.INNOVATOR_TYPE_ENTERPRISE]),
        ),
        "city_nav": publish(
            c,
            w["city"],
            name="专利导航分析",
            service_code="PA-01",
            category=S.SERVICE_CATEGORY_PATENT_ANALYSIS,
            cost_class=S.COST_CLASS_PUBLIC_INTEREST,
        ),
        "city_search": publish(c, w["city"], name="深圳专利检索", service_code="PS-01"),
        "backbone_search": publish(
            c, w["backbone"], name="全省专利检索", service_code="PS-02", channel=S.CHANNEL_ONLINE
        ),
        "futian_rights": publish(
            c,
            w["futian"],
            name="维权援助指导",
            service_code="RP-01",
            category=S.SERVICE_CATEGORY_RIGHTS_PROTECTION,
            channel=S.CHANNEL_ON_SITE,
        ),
        "futian_search": publish(c, w["futian"], name="福田专利检索", service_code="PS-01"),
        "tisc_search": publish(
            c,
            w["tisc"],
            name="高校专利检索",
            service_code="PS-01",
            eligibility=S.Eligibility(innovator_types=[S.INNOVATOR_TYPE_UNIVERSITY]),
        ),
        "pending_search": publish(c, w["pending"], name="待审专利检索", service_code="PS-01"),
    }
    return c, w, items


def ids(response, kind="institutions"):
    return {
        x.institution_id if kind == "institutions" else x.item_id for x in getattr(response, kind)
    }


def search(c, token=None, **kw):
    return c.as_(token).SearchInstitutions(S.SearchInstitutionsRequest(page_size=100, **kw))


def test_region_semantics(world):
    c, w, _ = world
    n = {k: v.institution_id for k, v in w.items()}
    # A city finds county-level institutions under it and those whose service area covers it.
    assert ids(search(c, region_code="440300")) == {
        n["county"],
        n["city"],
        n["backbone"],
        n["futian"],
    }
    # A county: its own, the city's (serving the whole city), the province-wide backbone.
    assert ids(search(c, region_code="440305")) == {n["county"], n["city"], n["backbone"]}
    assert ids(search(c, region_code="440100")) == {n["backbone"], n["tisc"]}
    # The province finds everything located in it.
    assert ids(search(c, region_code="440000")) == {
        n[k] for k in ("county", "city", "backbone", "futian", "tisc")
    }


def test_filters_text_and_visibility(world):
    c, w, _ = world
    n = {k: v.institution_id for k, v in w.items()}
    tier = search(c, tiers=[S.INSTITUTION_TIER_KEY_NETWORK_OUTLET, S.INSTITUTION_TIER_TISC])
    assert ids(tier) == {n["county"], n["futian"], n["tisc"]}
    assert tier.total_size == 3
    assert ids(search(c, ipc_prefix="G06F")) == {n["city"], n["tisc"]}
    assert ids(search(c, ipc_prefix="G06F 16/00")) == {n["city"], n["tisc"]}  # TISC covers all G06F
    assert ids(search(c, ipc_prefix="A61K 31/00")) == {n["backbone"]}
    assert ids(search(c, category=S.SERVICE_CATEGORY_RIGHTS_PROTECTION)) == {n["futian"]}
    # Chinese free text: two and three characters, names and descriptions.
    assert ids(search(c, query="维权")) == {n["futian"]}
    assert ids(search(c, query="科技园")) == {n["county"]}
    assert ids(search(c, query="骨干")) == {n["backbone"]}
    assert ids(search(c, query="南山区")) == {n["county"]}  # the pending one is hidden
    # LIKE metacharacters and quotes are text, not patterns or SQL.
    for literal_text in ("%", "_", "\\", "区'", "'; drop table institutions; --"):
        assert ids(search(c, query=literal_text)) == set()
    # Pending entries: hidden from the public and other provinces, shown to the node's admin.
    pending = [S.INSTITUTION_STATUS_PENDING]
    assert ids(search(c, statuses=pending)) == set()
    assert ids(search(c, JS_ADMIN, statuses=pending)) == set()
    assert n["pending"] in ids(search(c, GD_ADMIN, statuses=pending))
    assert ids(search(c, staff(n["pending"]), query="南山区")) == {n["county"], n["pending"]}
    bad = code_of(lambda: search(c, region_code="449999"))
    assert bad == grpc.StatusCode.INVALID_ARGUMENT
    assert code_of(lambda: search(c, ipc_prefix="Z99")) == grpc.StatusCode.INVALID_ARGUMENT


def test_search_service_items(world):
    c, _, it = world
    anon = c.as_(None)

    def find(**kw):
        kw.setdefault("page_size", 100)
        return anon.SearchServiceItems(S.SearchServiceItemsRequest(**kw))

    everything = find()
    assert it["pending_search"].item_id not in ids(everything, "items")
    assert everything.total_size == 7
    assert ids(
        find(region_code="440305", categories=[S.SERVICE_CATEGORY_PATENT_SEARCH]), "items"
    ) == {
        it["county_search"].item_id,
        it["city_search"].item_id,
        it["backbone_search"].item_id,
    }
    assert ids(find(query="导航"), "items") == {it["city_nav"].item_id}
    assert ids(find(query="专利检索", tiers=[S.INSTITUTION_TIER_TISC]), "items") == {
        it["tisc_search"].item_id
    }
    # An item offered both ways is found by either channel.
    online = ids(find(channel=S.CHANNEL_ONLINE, region_code="440304"), "items")
    assert it["backbone_search"].item_id in online
    assert it["futian_rights"].item_id not in online
    assert ids(find(service_code="RP-01"), "items") == {it["futian_rights"].item_id}
    assert ids(find(cost_class=S.COST_CLASS_PUBLIC_INTEREST), "items") == {it["city_nav"].item_id}
    assert ids(find(ipc_prefix="H04L"), "items") == {it["county_search"].item_id}
    page = find(page_size=3)
    assert len(page.items) == 3
    rest = anon.SearchServiceItems(
        S.SearchServiceItemsRequest(page_size=100, page_token=page.next_page_token)
    )
    assert [i.name for i in page.items] + [i.name for i in rest.items] == sorted(
        i.name for i in everything.items
    )


def test_versioning_and_item_write_refusal(world):
    c, w, it = world
    before = it["city_search"]
    own = c.as_(staff(w["city"].institution_id))
    edited = S.ServiceItem()
    edited.CopyFrom(before)
    edited.name = "深圳专利检索（升级版）"
    edited.processing_days = 3
    v2 = own.UpdateServiceItem(S.UpdateServiceItemRequest(item=edited, expected_version=1))
    assert (v2.item_id, v2.version, v2.is_current) == (before.item_id, 2, True)
    assert v2.created_by == f"440000:staff-{w['city'].institution_id}"
    anon = c.as_(None)
    old = anon.GetServiceItem(S.GetServiceItemRequest(item_id=before.item_id, version=1))
    assert (old.name, old.processing_days, old.is_current) == ("深圳专利检索", 5, False)
    assert anon.GetServiceItem(S.GetServiceItemRequest(item_id=before.item_id)).version == 2
    versions = anon.ListServiceItemVersions(
        S.ListServiceItemVersionsRequest(item_id=before.item_id)
    )
    assert [v.version for v in versions.versions] == [1, 2]
    assert versions.total_size == 2
    # Stale version, other institution's staff, another province: refused, nothing written.
    stale = S.UpdateServiceItemRequest(item=edited, expected_version=1)
    assert code_of(lambda: own.UpdateServiceItem(stale)) == grpc.StatusCode.ABORTED
    current = S.UpdateServiceItemRequest(item=edited, expected_version=2)
    other = c.as_(staff(w["county"].institution_id))
    assert code_of(lambda: other.UpdateServiceItem(current)) == grpc.StatusCode.PERMISSION_DENIED
    assert (
        code_of(lambda: c.as_(JS_ADMIN).UpdateServiceItem(current))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    create = S.CreateServiceItemRequest(item=item(w["city"].institution_id))
    assert code_of(lambda: other.CreateServiceItem(create)) == grpc.StatusCode.PERMISSION_DENIED
    assert (
        code_of(lambda: c.as_(JS_ADMIN).CreateServiceItem(create))
        == grpc.StatusCode.PERMISSION_DENIED
    )
    assert (
        anon.ListServiceItemVersions(
            S.ListServiceItemVersionsRequest(item_id=before.item_id)
        ).total_size
        == 2
    )
    # Items of a pending institution are not public.
    pending = S.GetServiceItemRequest(item_id=it["pending_search"].item_id)
    assert code_of(lambda: anon.GetServiceItem(pending)) == grpc.StatusCode.NOT_FOUND
    assert c.as_(GD_ADMIN).GetServiceItem(pending).name == "待审专利检索"
    bad = S.CreateServiceItemRequest(item=item(w["city"].institution_id, service_code="PA-01"))
    assert code_of(lambda: own.CreateServiceItem(bad)) == grpc.StatusCode.INVALID_ARGUMENT


def test_match_explains_and_prefers_the_nearest_capable_tier(world):
    c, _, it = world
    profile = S.InnovatorProfile(
        region_code="440305",
        innovator_type=S.INNOVATOR_TYPE_ENTERPRISE,
        enterprise_size=S.ENTERPRISE_SIZE_SMALL,
        stage=S.INNOVATION_STAGE_RND,
        ipc_fields=["G06F 16/00"],
        needs=[S.SERVICE_CATEGORY_PATENT_SEARCH],
    )
    english = [("accept-language", "en-GB,en;q=0.9")]
    result = c.as_(None).Match(S.MatchRequest(profile=profile, max_results=10), metadata=english)
    order = [m.item.item_id for m in result.matches]
    # county (0) → city (1) → province-wide backbone (2); then those with gaps.
    assert order[:3] == [
        it["county_search"].item_id,
        it["city_search"].item_id,
        it["backbone_search"].item_id,
    ]
    by_id = {m.item.item_id: m for m in result.matches}
    assert "serves 440305" in by_id[it["county_search"].item_id].reasons
    assert "IPC G06F 16/00 in institution fields" in by_id[it["city_search"].item_id].reasons
    assert list(by_id[it["futian_search"].item_id].gaps) == ["outside service area"]
    assert it["pending_search"].item_id not in by_id
    assert by_id[it["county_search"].item_id].institution.name == "南山区知识产权工作站"
    # An individual lacks what the enterprise-only item requires.
    individual = S.InnovatorProfile()
    individual.CopyFrom(profile)
    individual.innovator_type = S.INNOVATOR_TYPE_INDIVIDUAL
    again = c.as_(None).Match(S.MatchRequest(profile=individual, max_results=10), metadata=english)
    gaps = {m.item.item_id: list(m.gaps) for m in again.matches}
    assert gaps[it["county_search"].item_id] == ["requires an enterprise"]
    # Without an accept-language the texts are Chinese, like the data.
    chinese = c.as_(None).Match(S.MatchRequest(profile=individual, max_results=10))
    gaps = {m.item.item_id: list(m.gaps) for m in chinese.matches}
    assert gaps[it["county_search"].item_id] == ["仅限企业"]
    reasons = {m.item.item_id: list(m.reasons) for m in chinese.matches}
    assert "服务南山区（440305）" in reasons[it["county_search"].item_id]
    assert again.matches[0].item.item_id == it["city_search"].item_id
    # Deterministic.
    assert [
        m.item.item_id
        for m in c.as_(None).Match(S.MatchRequest(profile=individual, max_results=10)).matches
    ] == [m.item.item_id for m in again.matches]
    bad = S.MatchRequest(profile=S.InnovatorProfile(region_code="000001"))
    assert code_of(lambda: c.as_(None).Match(bad)) == grpc.StatusCode.INVALID_ARGUMENT


def test_match_follows_the_free_text_needs(world):
    c, _, it = world
    profile = S.InnovatorProfile(region_code="440305", needs_text="遇到商标侵权纠纷，需要维权援助")
    result = c.as_(None).Match(S.MatchRequest(profile=profile, max_results=10))
    assert result.matches
    assert result.matches[0].item.item_id == it["futian_rights"].item_id
    assert {m.item.category for m in result.matches} == {S.SERVICE_CATEGORY_RIGHTS_PROTECTION}
    reasons = list(result.matches[0].reasons)
    assert reasons[0] == "提供维权援助，符合需求“维权”"
    assert "服务说明提到“维权援助”" in reasons


def test_match_runs_on_its_cached_generic_plan_and_the_rest_plans_each_time(shared_catalog):
    app = shared_catalog.app
    assert app.match_db is not app.db
    modes = {}
    for name, db in (("match", app.match_db), ("main", app.db)):
        with db.read_connection() as connection:
            modes[name] = connection.execute(text("SHOW plan_cache_mode")).scalar_one()
    assert modes == {"match": "force_generic_plan", "main": "force_custom_plan"}

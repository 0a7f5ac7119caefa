"""Complaints, suggestions and needs, grouped as near-duplicates; demand without supply."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import pairwise
from typing import TYPE_CHECKING

from puhui.feedback.domain.common import MAX_ID, MAX_REPORT_TEXT, Rules, admin_of
from puhui.kit.auth import Principal
from puhui.kit.errors import PermissionDenied, Unauthenticated, Violations
from puhui.kit.pagination import page_request
from puhui.refdata import divisions

if TYPE_CHECKING:
    from puhui.feedback.domain.ports import EventSink, FeedbackRepository


class ReportKind(enum.IntEnum):
    COMPLAINT = 1
    SUGGESTION = 2
    NEED = 3


class CollectionPoint(enum.IntEnum):
    ONLINE_FORM = 1
    WINDOW = 2
    HOTLINE = 3
    SURVEY = 4


# The catalog's service categories (puhui.catalog.v1.ServiceCategory without its prefix).
CATEGORIES = frozenset(
    {
        "PATENT_SEARCH",
        "PATENT_ANALYSIS",
        "TRADEMARK_GI_CONSULTATION",
        "RIGHTS_PROTECTION",
        "IP_OPERATIONS",
        "TRAINING",
        "POLICY_CONSULTATION",
        "IC_LAYOUT_CONSULTATION",
    }
)


@dataclass(frozen=True)
class NewReport:
    kind: int
    source: int
    category: str
    region_code: str
    text: str
    point_id: str = ""


@dataclass(frozen=True)
class Report:
    report_id: str
    kind: ReportKind
    source: CollectionPoint
    category: str
    region_code: str
    text: str
    group_id: str
    received_at: datetime
    point_id: str = ""


@dataclass(frozen=True)
class ReportGroup:
    group_id: str
    kind: ReportKind
    category: str
    region_code: str
    representative_text: str
    size: int


@dataclass(frozen=True)
class UnmetDemand:
    category: str
    region_code: str
    need_count: int
    supplying_items: int


@dataclass(frozen=True)
class Supplier:
    """A current catalog service item's institution, as the read model knows it."""

    region_code: str
    service_area: tuple[str, ...] = ()

    def serves(self, region: str) -> bool:
        """Serves `region` when either division contains the other, or it lists it."""
        return (
            region.startswith(divisions.region_prefix(self.region_code))
            or self.region_code.startswith(divisions.region_prefix(region))
            or region in self.service_area
        )


_SKIP = set(" \t\r\n，。！？、；：,.!?;:\"'“”‘’（）()【】[]《》<>-—…·")


def group_sort_key(group: ReportGroup) -> str:
    """Largest first: the page cursor is (size, group_id) of the last group shown."""
    return f"{group.size}:{group.group_id}"


def bigrams(text: str) -> frozenset[str]:
    chars = [c for c in text.lower() if c not in _SKIP]
    if len(chars) < 2:
        return frozenset(chars)
    return frozenset(a + b for a, b in pairwise(chars))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


class ReportRules(Rules):
    """Use cases of reports."""

    # -- complaints, suggestions and needs ---------------------------------------------------
    def validate_report(self, new: NewReport) -> NewReport:
        v = Violations()
        v.check(
            new.kind in ReportKind.__members__.values(),
            "kind",
            "must be complaint, suggestion or need",
        )
        v.check(
            new.source in CollectionPoint.__members__.values(),
            "source",
            "must be online form, window, hotline or survey",
        )
        v.check(
            new.category in CATEGORIES,
            "category",
            f"must be one of {', '.join(sorted(CATEGORIES))}",
        )
        region = new.region_code.strip()
        if (
            v.require(region, "region_code")
            and v.check(
                divisions.is_valid(region),
                "region_code",
                f"{region!r} is not a GB/T 2260 division code",
            )
            and self.node != "000000"
        ):
            province = divisions.province_of(region)
            v.check(
                province is not None and province.code == self.node,
                "region_code",
                f"must lie in this node's province {self.node}",
            )
        text = new.text.strip()
        if v.require(text, "text"):
            v.check(len(text) <= MAX_REPORT_TEXT, "text", f"at most {MAX_REPORT_TEXT} characters")
        v.check(len(new.point_id.strip()) <= MAX_ID, "point_id", f"at most {MAX_ID} characters")
        v.raise_if_any()
        return replace(new, region_code=region, text=text, point_id=new.point_id.strip())

    def require_report_reader(self, principal: Principal) -> None:
        """Report texts may identify people: only this node's admins read them."""
        if principal.is_anonymous:
            raise Unauthenticated("sign in first")
        if not admin_of(principal, self.node):
            raise PermissionDenied(f"requires province_admin of {self.node} or national_admin")

    def submit_report(self, new: NewReport) -> tuple[Report, bool]:
        """Store a report and put it in a group of near-duplicates; True when it joined one."""
        new = self.validate_report(new)
        with self.uow() as (repo, sink):
            return self._file_report(repo, sink, new, self.clock())

    def _file_report(
        self, repo: FeedbackRepository, sink: EventSink, new: NewReport, now: datetime
    ) -> tuple[Report, bool]:
        best: ReportGroup | None = None
        best_score = 0.0
        mine = bigrams(new.text)
        for group in repo.groups_in(ReportKind(new.kind), new.category, new.region_code):
            score = jaccard(mine, bigrams(group.representative_text))
            if score >= self.settings.duplicate_threshold and score > best_score:
                best, best_score = group, score
        if best is None:
            best = ReportGroup(
                group_id=self.ids.new(),
                kind=ReportKind(new.kind),
                category=new.category,
                region_code=new.region_code,
                representative_text=new.text,
                size=1,
            )
            repo.add_group(best, now)
            joined = False
        else:
            repo.grow_group(best.group_id)
            joined = True
        report = Report(
            report_id=self.ids.new(),
            kind=ReportKind(new.kind),
            source=CollectionPoint(new.source),
            category=new.category,
            region_code=new.region_code,
            text=new.text,
            group_id=best.group_id,
            received_at=now,
            point_id=new.point_id,
        )
        repo.add_report(report)
        sink.report_submitted(report)
        return report, joined

    def list_report_groups(
        self, principal: Principal, kind: int, region_code: str, page_size: int, page_token: str
    ) -> tuple[list[ReportGroup], int, str]:
        """One page of groups, largest first, and the token of the next page ("" if last)."""
        self.require_report_reader(principal)
        v = Violations()
        if kind:
            v.check(kind in ReportKind.__members__.values(), "kind", "unknown kind")
        if region_code:
            v.check(divisions.is_valid(region_code), "region_code", "is not a GB/T 2260 code")
        v.raise_if_any()
        page = page_request(page_size, page_token, {"kind": kind, "region": region_code})
        with self.uow.read() as repo:
            groups, total = repo.list_groups(kind, region_code, page.size, page.after)
        next_token = page.token_after(groups, group_sort_key)
        return groups, total, next_token

    def demand_without_supply(self, principal: Principal, region_code: str) -> list[UnmetDemand]:
        self.require_report_reader(principal)
        v = Violations()
        if region_code:
            v.check(
                divisions.is_valid(region_code), "region_code", "is not a GB/T 2260 division code"
            )
        v.raise_if_any()
        unmet = []
        with self.uow.read() as repo:
            for category, region, count in repo.need_counts(region_code):
                supply = sum(1 for inst in repo.suppliers(category) if inst.serves(region))
                if supply == 0:
                    unmet.append(UnmetDemand(category, region, count, 0))
        unmet.sort(key=lambda u: (-u.need_count, u.category, u.region_code))
        return unmet

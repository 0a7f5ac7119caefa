"""Feedback domain: service cases, ratings, rectification tickets, appeals, reports and
satisfaction indices. Pure logic and the ports it needs: no proto, no SQL.

One module per aggregate (`cases`: cases and ratings; `tickets`: tickets and appeals;
`reports`; `indices`), the ports in `ports`; `Feedback` joins their use cases.
"""

from __future__ import annotations

from puhui.feedback.domain.cases import (
    INDICATORS,
    CaseRules,
    Channel,
    Level,
    NewCase,
    NewRating,
    Rating,
    RatingQuery,
    ServiceCase,
    Stage,
    derive_token,
    hash_token,
    rating_sort_key,
)
from puhui.feedback.domain.common import (
    CHINA,
    MAX_COMMENT,
    MAX_ID,
    MAX_REPORT_TEXT,
    NATIONAL_ADMIN,
    PROVINCE_ADMIN,
    STAFF,
    Settings,
    admin_of,
    china_date,
    require_staff,
    staff_of,
)
from puhui.feedback.domain.indices import (
    IndexCounts,
    index_scope,
    index_scopes,
    periods_of,
    valid_period,
)
from puhui.feedback.domain.ports import (
    BurstCounter,
    CaseRepository,
    EventSink,
    FeedbackRepository,
    IdSource,
)
from puhui.feedback.domain.reports import (
    CATEGORIES,
    CollectionPoint,
    NewReport,
    Report,
    ReportGroup,
    ReportKind,
    ReportRules,
    Supplier,
    UnmetDemand,
    bigrams,
    jaccard,
    region_prefix,
)
from puhui.feedback.domain.tickets import (
    APPEAL_GROUNDS,
    OPEN_STATES,
    TRANSITIONS,
    Appeal,
    Decision,
    Ticket,
    TicketQuery,
    TicketRules,
    TicketState,
    Transition,
    transition,
)


class Feedback(CaseRules, TicketRules, ReportRules):
    """The feedback use cases of one node."""

    def __init__(self, node: str, token_key: bytes, settings: Settings | None = None) -> None:
        self.node = node
        self.token_key = token_key
        self.settings = settings if settings is not None else Settings()


__all__ = [
    "APPEAL_GROUNDS",
    "CATEGORIES",
    "CHINA",
    "INDICATORS",
    "MAX_COMMENT",
    "MAX_ID",
    "MAX_REPORT_TEXT",
    "NATIONAL_ADMIN",
    "OPEN_STATES",
    "PROVINCE_ADMIN",
    "STAFF",
    "TRANSITIONS",
    "Appeal",
    "BurstCounter",
    "CaseRepository",
    "Channel",
    "CollectionPoint",
    "Decision",
    "EventSink",
    "Feedback",
    "FeedbackRepository",
    "IdSource",
    "IndexCounts",
    "Level",
    "NewCase",
    "NewRating",
    "NewReport",
    "Rating",
    "RatingQuery",
    "Report",
    "ReportGroup",
    "ReportKind",
    "ServiceCase",
    "Settings",
    "Stage",
    "Supplier",
    "Ticket",
    "TicketQuery",
    "TicketState",
    "Transition",
    "UnmetDemand",
    "admin_of",
    "bigrams",
    "china_date",
    "derive_token",
    "hash_token",
    "index_scope",
    "index_scopes",
    "jaccard",
    "periods_of",
    "rating_sort_key",
    "region_prefix",
    "require_staff",
    "staff_of",
    "transition",
    "valid_period",
]

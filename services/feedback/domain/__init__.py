"""Feedback domain: service cases, ratings, rectification tickets, appeals, reports and
satisfaction indices. Pure logic and the ports it needs: no proto, no SQL.

One module per aggregate (`cases`: cases and ratings; `tickets`: tickets and appeals;
`reports`; `indices`; `kiosks`: batches of offline kiosk ratings), the ports in `ports`;
`Feedback` joins their use cases and receives its ports in its constructor.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from puhui.feedback.domain.cases import (
    INDICATORS,
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
    NewIds,
    Settings,
    admin_of,
    china_date,
    require_staff,
    staff_of,
)
from puhui.feedback.domain.indices import (
    IndexCounts,
    IndexRules,
    index_scope,
    index_scopes,
    periods_of,
    valid_period,
)
from puhui.feedback.domain.kiosks import MAX_SYNC, KioskRating, KioskRules, KioskSync
from puhui.feedback.domain.ports import (
    BurstCounter,
    CaseRepository,
    EventSink,
    FeedbackRepository,
    IdSource,
    UnitOfWork,
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
    group_sort_key,
    jaccard,
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
from puhui.kit.times import utcnow
from puhui.refdata.divisions import region_prefix


class Feedback(KioskRules, TicketRules, ReportRules, IndexRules):
    """The feedback use cases of one node. Each opens its own unit of work (or read)."""

    def __init__(
        self,
        node: str,
        token_key: bytes,
        uow: UnitOfWork,
        bursts: BurstCounter,
        *,
        settings: Settings | None = None,
        ids: IdSource | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.node = node
        self.token_key = token_key
        self.uow = uow
        self.bursts = bursts
        self.settings = settings if settings is not None else Settings()
        self.ids = ids if ids is not None else NewIds()
        self.clock = clock


__all__ = [
    "APPEAL_GROUNDS",
    "CATEGORIES",
    "CHINA",
    "INDICATORS",
    "MAX_COMMENT",
    "MAX_ID",
    "MAX_REPORT_TEXT",
    "MAX_SYNC",
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
    "KioskRating",
    "KioskSync",
    "Level",
    "NewCase",
    "NewIds",
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
    "UnitOfWork",
    "UnmetDemand",
    "admin_of",
    "bigrams",
    "china_date",
    "derive_token",
    "group_sort_key",
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

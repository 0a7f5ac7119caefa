"""Satisfaction indices: periods, scopes and the counts a period holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from puhui.feedback.domain.common import Rules, china_date
from puhui.kit.errors import InvalidArgument


def periods_of(moment: datetime) -> tuple[str, str, str]:
    """Month, quarter and year (China time) an event at `moment` counts in."""
    d = china_date(moment)
    return (f"{d.year}-{d.month:02d}", f"{d.year}-Q{(d.month - 1) // 3 + 1}", f"{d.year}")


def valid_period(period: str) -> bool:
    parts = period.split("-")
    if not parts[0].isdigit() or len(parts[0]) != 4:
        return False
    if len(parts) == 1:
        return True
    if len(parts) != 2:
        return False
    tail = parts[1]
    if tail.startswith("Q"):
        return tail[1:] in {"1", "2", "3", "4"}
    return tail.isdigit() and len(tail) == 2 and 1 <= int(tail) <= 12


@dataclass(frozen=True)
class IndexCounts:
    rating_count: int = 0
    satisfied_count: int = 0
    bad_count: int = 0
    tickets_on_time: int = 0
    tickets_breached: int = 0
    follow_ups: int = 0
    appeals_filed: int = 0
    appeals_upheld: int = 0

    def rates(self) -> dict[str, float]:
        def ratio(a: int, b: int) -> float:
            return a / b if b > 0 else 0.0

        return {
            "satisfied_share": ratio(self.satisfied_count, self.rating_count),
            "bad_review_rate": ratio(self.bad_count, self.rating_count),
            "rectification_on_time_rate": ratio(
                self.tickets_on_time, self.tickets_on_time + self.tickets_breached
            ),
            "follow_up_rate": ratio(self.follow_ups, self.bad_count + self.appeals_upheld),
            "appeal_rate": ratio(self.appeals_filed, self.bad_count + self.appeals_upheld),
        }


def index_scopes(institution_id: str, service_item_id: str, node_id: str) -> tuple[str, ...]:
    return (f"institution:{institution_id}", f"item:{service_item_id}", f"node:{node_id}", "all")


def index_scope(institution_id: str, service_item_id: str, node_id: str, this_node: str) -> str:
    """The scope a GetSatisfactionIndex request names; exactly one must be given."""
    given = [
        (k, v)
        for k, v in (("institution", institution_id), ("item", service_item_id), ("node", node_id))
        if v
    ]
    if len(given) != 1:
        raise InvalidArgument.field(
            "institution_id", "give exactly one of institution_id, service_item_id or node_id"
        )
    kind, value = given[0]
    if kind == "node" and value == "000000" and this_node == "000000":
        return "all"  # the hub's national figure: every node's events
    return f"{kind}:{value}"


class IndexRules(Rules):
    """Use cases of satisfaction indices (read from the aggregate rows the consumer keeps)."""

    def satisfaction_index(
        self, institution_id: str, service_item_id: str, node_id: str, period: str
    ) -> tuple[str, IndexCounts]:
        """The scope the request names and its counts in `period`."""
        scope = index_scope(institution_id, service_item_id, node_id, self.node)
        if not valid_period(period):
            raise InvalidArgument.field("period", "must be YYYY, YYYY-Qn or YYYY-MM")
        with self.uow.read() as repo:
            return scope, repo.index_counts(scope, period)

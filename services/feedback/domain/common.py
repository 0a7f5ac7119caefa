"""What every feedback aggregate shares: China time, roles, settings, the use-case base."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from puhui.feedback.workdays import WorkCalendar
from puhui.kit import tokens
from puhui.kit.auth import Principal
from puhui.kit.errors import PermissionDenied, Unauthenticated
from puhui.kit.ids import new_id

if TYPE_CHECKING:
    from puhui.feedback.domain.ports import BurstCounter, IdSource, UnitOfWork

CHINA = ZoneInfo("Asia/Shanghai")
MAX_ID = 64
MAX_COMMENT = 2000
MAX_REPORT_TEXT = 4000


def china_date(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


# --- roles (as the kit's offline token verifier grants them) ------------------------------
STAFF = tokens.ROLE_INSTITUTION_STAFF
PROVINCE_ADMIN = tokens.ROLE_PROVINCE_ADMIN
NATIONAL_ADMIN = tokens.ROLE_NATIONAL_ADMIN


def staff_of(principal: Principal, institution_id: str) -> bool:
    return tokens.holds(principal, STAFF, institution=institution_id)


def admin_of(principal: Principal, node: str) -> bool:
    return tokens.holds(principal, PROVINCE_ADMIN, scope_node=node) or tokens.holds(
        principal, NATIONAL_ADMIN
    )


def require_staff(principal: Principal, institution_id: str) -> None:
    if principal.is_anonymous:
        raise Unauthenticated("sign in first")
    if not staff_of(principal, institution_id):
        raise PermissionDenied(f"requires institution_staff of {institution_id}")


@dataclass
class Settings:
    invitation_days: int = 15
    deadline_working_days: int = 5
    province_deadlines: dict[str, int] = field(default_factory=dict)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    burst_limit: int = 10
    burst_address_limit: int = 50
    burst_window_seconds: int = 600
    duplicate_threshold: float = 0.6


class NewIds:
    """The default IdSource: the kit's sortable ids."""

    def new(self) -> str:
        return new_id()


class Rules:
    """State every use-case mixin reads (the `Feedback` object sets it): the node, its
    settings, and the ports each use case runs through (its unit of work above all)."""

    node: str
    token_key: bytes
    settings: Settings
    uow: UnitOfWork
    bursts: BurstCounter
    ids: IdSource
    clock: Callable[[], datetime]

"""Feedback domain: service cases, ratings, rectification tickets, appeals, reports and
satisfaction indices. Pure logic and the repository interfaces it needs: no proto, no SQL."""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from puhui.feedback import errors
from puhui.feedback.workdays import WorkCalendar
from puhui.kit.auth import Principal
from puhui.kit.errors import PermissionDenied, Unauthenticated, Violations

CHINA = ZoneInfo("Asia/Shanghai")
MAX_ID = 64
MAX_COMMENT = 2000
MAX_REPORT_TEXT = 4000


class Level(enum.IntEnum):
    VERY_SATISFIED = 1  # 非常满意
    SATISFIED = 2  # 满意
    BASICALLY_SATISFIED = 3  # 基本满意
    DISSATISFIED = 4  # 不满意
    VERY_DISSATISFIED = 5  # 非常不满意

    @property
    def is_bad(self) -> bool:
        return self >= Level.DISSATISFIED


class Channel(enum.IntEnum):
    ONLINE = 1  # 一事一评
    ON_SITE = 2  # 一次一评
    PHONE_SMS = 3


class Stage(enum.IntEnum):
    ACCEPTANCE = 1
    HANDLING = 2
    COMPLETION = 3


# Indicators each channel may score (the overall level is the rating's own level).
INDICATORS: dict[Channel, frozenset[str]] = {
    Channel.ONLINE: frozenset(
        {"overall", "efficiency", "guidance_accuracy", "convenience", "platform_usability"}
    ),
    Channel.ON_SITE: frozenset({"overall", "efficiency", "professionalism", "attitude"}),
    Channel.PHONE_SMS: frozenset({"overall"}),
}


def china_date(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


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


# --- roles ---------------------------------------------------------------------------------
STAFF = "institution_staff"
PROVINCE_ADMIN = "province_admin"
NATIONAL_ADMIN = "national_admin"


def staff_of(principal: Principal, institution_id: str) -> bool:
    return principal.has_role(STAFF, institution_id)


def admin_of(principal: Principal, node: str) -> bool:
    return principal.has_role(PROVINCE_ADMIN, node) or principal.has_role(NATIONAL_ADMIN)


def require_staff(principal: Principal, institution_id: str) -> None:
    if principal.is_anonymous:
        raise Unauthenticated("sign in first")
    if not staff_of(principal, institution_id):
        raise PermissionDenied(f"requires institution_staff of {institution_id}")


# --- service cases --------------------------------------------------------------------------
@dataclass(frozen=True)
class NewCase:
    institution_id: str
    service_item_id: str
    person_id: str
    completed_at: datetime | None
    request_id: str
    in_progress: bool = False


@dataclass(frozen=True)
class ServiceCase:
    case_id: str
    institution_id: str
    service_item_id: str
    person_id: str
    node_id: str
    request_id: str
    recorded_by: str
    recorded_at: datetime
    token_hash: str
    completed_at: datetime | None = None
    invitation_expires_at: datetime | None = None
    rated_stages: tuple[Stage, ...] = ()

    @property
    def completed(self) -> bool:
        return self.completed_at is not None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def derive_token(key: bytes, case_id: str) -> str:
    """The case's rating token: derived, so a replayed RecordServiceCase returns it again."""
    digest = hmac.new(key, f"rating-token:{case_id}".encode(), hashlib.sha256).digest()
    return "rt_" + base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")


class CaseRepository(Protocol):
    def add_case(self, case: ServiceCase) -> None: ...

    def get_case(self, case_id: str) -> ServiceCase | None: ...

    def case_by_request(self, institution_id: str, request_id: str) -> ServiceCase | None: ...

    def case_by_token(self, token_hash: str) -> ServiceCase | None: ...

    def update_case(self, case: ServiceCase) -> None: ...


class EventSink(Protocol):
    def case_recorded(self, case: ServiceCase) -> None: ...


@dataclass
class Settings:
    invitation_days: int = 15
    deadline_working_days: int = 5
    province_deadlines: dict[str, int] = field(default_factory=dict)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    burst_limit: int = 10
    burst_window_seconds: int = 600
    duplicate_threshold: float = 0.6


@dataclass
class Feedback:
    """Use cases. A unit of work supplies the repository and event sink of one transaction."""

    node: str
    token_key: bytes
    settings: Settings = field(default_factory=Settings)

    # -- cases --------------------------------------------------------------------------------
    def validate_case(self, new: NewCase, now: datetime) -> NewCase:
        v = Violations()
        for name in ("institution_id", "service_item_id", "request_id"):
            value = getattr(new, name).strip()
            if v.require(value, name):
                v.check(len(value) <= MAX_ID, name, f"at most {MAX_ID} characters")
        if new.person_id:
            node, sep, local = new.person_id.partition(":")
            v.check(
                bool(sep) and len(node) == 6 and node.isdigit() and 0 < len(local) <= MAX_ID,
                "person_id",
                "must be '<node>:<id>' or empty for an anonymous walk-in",
            )
        if not new.in_progress and new.completed_at is not None:
            v.check(
                new.completed_at <= now + timedelta(minutes=5),
                "completed_at",
                "must not be in the future",
            )
        v.raise_if_any()
        return replace(
            new,
            institution_id=new.institution_id.strip(),
            service_item_id=new.service_item_id.strip(),
            request_id=new.request_id.strip(),
            completed_at=None if new.in_progress else (new.completed_at or now),
        )

    def record_case(
        self,
        repo: CaseRepository,
        sink: EventSink,
        principal: Principal,
        new: NewCase,
        case_id: str,
        now: datetime,
    ) -> tuple[ServiceCase, str]:
        """Record a case (or return the one recorded under the same request id) and its token."""
        new = self.validate_case(new, now)
        require_staff(principal, new.institution_id)
        existing = repo.case_by_request(new.institution_id, new.request_id)
        if existing is not None:
            if (existing.service_item_id, existing.person_id) != (
                new.service_item_id,
                new.person_id,
            ):
                raise errors.AlreadyExists(
                    f"request_id {new.request_id!r} was already used for a different case"
                )
            token = derive_token(self.token_key, existing.case_id)
            if hash_token(token) != existing.token_hash:
                if existing.rated_stages:
                    return existing, ""  # the key changed and the token is in use: keep it
                existing = replace(existing, token_hash=hash_token(token))
                repo.update_case(existing)
            return existing, token
        token = derive_token(self.token_key, case_id)
        case = ServiceCase(
            case_id=case_id,
            institution_id=new.institution_id,
            service_item_id=new.service_item_id,
            person_id=new.person_id,
            node_id=self.node,
            request_id=new.request_id,
            recorded_by=principal.subject,
            recorded_at=now,
            token_hash=hash_token(token),
            completed_at=new.completed_at,
            invitation_expires_at=self._invitation_end(new.completed_at),
        )
        repo.add_case(case)
        sink.case_recorded(case)
        return case, token

    def _invitation_end(self, completed_at: datetime | None) -> datetime | None:
        if completed_at is None:
            return None
        return completed_at + timedelta(days=self.settings.invitation_days)

    @staticmethod
    def get_case(repo: CaseRepository, principal: Principal, case_id: str) -> ServiceCase:
        v = Violations()
        v.require(case_id, "case_id")
        v.raise_if_any()
        case = repo.get_case(case_id)
        if case is None:
            raise errors.CaseNotFound(case_id)
        if not (
            staff_of(principal, case.institution_id)
            or admin_of(principal, case.node_id)
            or (case.person_id and principal.subject == case.person_id)
        ):
            # Do not reveal which case ids exist.
            raise errors.CaseNotFound(case_id)
        return case

    def complete_case(
        self,
        repo: CaseRepository,
        sink: EventSink,
        principal: Principal,
        case_id: str,
        completed_at: datetime | None,
        now: datetime,
    ) -> ServiceCase:
        v = Violations()
        v.require(case_id, "case_id")
        if completed_at is not None:
            v.check(
                completed_at <= now + timedelta(minutes=5),
                "completed_at",
                "must not be in the future",
            )
        v.raise_if_any()
        case = repo.get_case(case_id)
        if case is None:
            raise errors.CaseNotFound(case_id)
        require_staff(principal, case.institution_id)
        if case.completed:
            return case
        when = completed_at or now
        case = replace(case, completed_at=when, invitation_expires_at=self._invitation_end(when))
        repo.update_case(case)
        sink.case_recorded(case)
        return case

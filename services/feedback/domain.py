"""Feedback domain: service cases, ratings, rectification tickets, appeals, reports and
satisfaction indices. Pure logic and the repository interfaces it needs: no proto, no SQL."""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Protocol
from zoneinfo import ZoneInfo

from puhui.feedback import errors
from puhui.feedback.workdays import WorkCalendar
from puhui.kit import tokens
from puhui.kit.auth import Principal
from puhui.kit.errors import InvalidArgument, PermissionDenied, Unauthenticated, Violations
from puhui.refdata import divisions

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

    # Read models fed by the catalog's and identity's events.
    def item_institution(self, item_id: str) -> str | None: ...

    def person_known(self, person_id: str) -> bool: ...


class EventSink(Protocol):
    def case_recorded(self, case: ServiceCase) -> None: ...

    def rating_submitted(self, rating: Rating) -> None: ...

    def ticket_changed(self, ticket: Ticket) -> None: ...

    def ticket_breached(self, ticket: Ticket) -> None: ...

    def appeal_changed(self, appeal: Appeal, rating: Rating) -> None: ...

    def report_submitted(self, report: Report) -> None: ...


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
        institution = new.institution_id.strip()
        if institution and not v.has("institution_id"):
            # Catalog ids start with the owning node: a node records its own institutions' cases.
            v.check(
                institution.startswith(f"{self.node}-"),
                "institution_id",
                f"must be an institution of this node ({self.node}-…)",
            )
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
        self._check_references(repo, new)
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

    def _check_references(self, repo: CaseRepository, new: NewCase) -> None:
        """The item must be the recording institution's, the person one registered here.

        Both are read models fed by events: an item the catalog has not published (yet)
        is accepted; a person of this node not (yet) known is refused (a retry succeeds
        once identity's event has arrived). Persons of other nodes are not known here and
        are taken as given.
        """
        owner = repo.item_institution(new.service_item_id)
        if owner is not None and owner != new.institution_id:
            raise InvalidArgument.field(
                "service_item_id", f"is an item of institution {owner}, not {new.institution_id}"
            )
        if new.person_id.startswith(f"{self.node}:") and not repo.person_known(new.person_id):
            raise InvalidArgument.field(
                "person_id",
                f"is not a person registered at node {self.node} (one registered moments ago"
                " may take a few seconds to be known here)",
            )

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

    # -- ratings ------------------------------------------------------------------------------
    def validate_rating(self, new: NewRating, prefix: str = "") -> NewRating:
        v = Violations()
        p = prefix
        v.require(new.token.strip(), f"{p}rating_token")
        v.check(
            new.stage in Stage.__members__.values(),
            f"{p}stage",
            "must be acceptance, handling or completion",
        )
        channel_ok = v.check(
            new.channel in Channel.__members__.values(),
            f"{p}channel",
            "must be online, on-site or phone/SMS",
        )
        v.check(
            new.level in Level.__members__.values(), f"{p}level", "must be one of the five levels"
        )
        seen: set[str] = set()
        for i, (name, level) in enumerate(new.indicators):
            if channel_ok:
                allowed = INDICATORS[Channel(new.channel)]
                v.check(
                    name in allowed,
                    f"{p}indicators[{i}].indicator",
                    f"{name!r} is not an indicator of this channel ({', '.join(sorted(allowed))})",
                )
            v.check(name not in seen, f"{p}indicators[{i}].indicator", "is repeated")
            seen.add(name)
            v.check(
                level in Level.__members__.values(),
                f"{p}indicators[{i}].level",
                "must be one of the five levels",
            )
        v.check(len(new.comment) <= MAX_COMMENT, f"{p}comment", f"at most {MAX_COMMENT} characters")
        v.check(len(new.device_id) <= MAX_ID, f"{p}device_id", f"at most {MAX_ID} characters")
        v.raise_if_any()
        return replace(new, token=new.token.strip(), comment=new.comment.strip())

    def deadline_days(self, node: str) -> int:
        return self.settings.province_deadlines.get(node, self.settings.deadline_working_days)

    def submit_rating(
        self,
        repo: FeedbackRepository,
        sink: EventSink,
        bursts: BurstCounter,
        principal: Principal,
        new: NewRating,
        ids: IdSource,
        now: datetime,
        *,
        rated_at: datetime | None = None,
        kiosk_id: str = "",
        client_rating_id: str = "",
    ) -> Rating:
        """Accept one rating made with a case's token; bad reviews open a rectification ticket."""
        new = self.validate_rating(new)
        case = repo.case_by_token(hash_token(new.token))
        if case is None:
            raise InvalidArgument.field("rating_token", "is not a rating token issued by this node")
        stage = Stage(new.stage)
        if staff_of(principal, case.institution_id):
            raise errors.OwnInstitution("staff cannot rate their own institution's cases")
        if not principal.is_anonymous and case.person_id and principal.subject != case.person_id:
            raise PermissionDenied("only the person served may rate this case")
        if new.real_name and (principal.is_anonymous or principal.subject != case.person_id):
            raise InvalidArgument.field("real_name", "requires signing in as the person served")
        if stage in case.rated_stages:
            raise errors.TokenAlreadyUsed(
                f"the rating token was already used for the {stage.name.lower()} stage"
            )
        if stage == Stage.COMPLETION and not case.completed:
            raise errors.CaseNotCompleted(
                "the case is not completed: its completion stage cannot be rated yet"
            )
        when = rated_at or now
        late = case.invitation_expires_at is not None and when > case.invitation_expires_at
        flagged = False
        if new.device_id:
            flagged |= bursts.hit(f"device:{new.device_id}") > self.settings.burst_limit
        if principal.client_address:
            address_count = bursts.hit(f"address:{principal.client_address}")
            flagged |= address_count > self.settings.burst_address_limit
        level = Level(new.level)
        rating = Rating(
            rating_id=ids.new(),
            case_id=case.case_id,
            stage=stage,
            channel=Channel(new.channel),
            level=level,
            indicators=tuple((name, Level(lv)) for name, lv in new.indicators),
            comment=new.comment,
            real_name=new.real_name,
            rater=principal.subject if new.real_name else "",
            late=late,
            flagged=flagged,
            rated_at=when,
            received_at=now,
            institution_id=case.institution_id,
            service_item_id=case.service_item_id,
            node_id=case.node_id,
            kiosk_id=kiosk_id,
            client_rating_id=client_rating_id,
        )
        ticket = None
        if level.is_bad:
            days = self.deadline_days(case.node_id)
            ticket = Ticket(
                ticket_id=ids.new(),
                rating_id=rating.rating_id,
                institution_id=case.institution_id,
                service_item_id=case.service_item_id,
                node_id=case.node_id,
                state=TicketState.OPEN,
                opened_at=now,
                due_date=self.settings.calendar.add_working_days(china_date(now), days),
                deadline_working_days=days,
                real_name=new.real_name,
                history=(Transition(None, TicketState.OPEN, "system", now, "bad review received"),),
            )
            rating = replace(rating, ticket_id=ticket.ticket_id)
        repo.update_case(replace(case, rated_stages=(*case.rated_stages, stage)))
        repo.add_rating(rating)
        sink.rating_submitted(rating)
        if ticket is not None:
            repo.add_ticket(ticket)
            sink.ticket_changed(ticket)
        return rating

    @staticmethod
    def get_rating(repo: FeedbackRepository, principal: Principal, rating_id: str) -> Rating:
        v = Violations()
        v.require(rating_id, "rating_id")
        v.raise_if_any()
        rating = repo.get_rating(rating_id)
        if rating is None or not (
            staff_of(principal, rating.institution_id)
            or admin_of(principal, rating.node_id)
            or (rating.rater and rating.rater == principal.subject)
        ):
            raise errors.RatingNotFound(rating_id)
        return rating

    @staticmethod
    def list_ratings(
        repo: FeedbackRepository, principal: Principal, query: RatingQuery, size: int, after: str
    ) -> tuple[list[Rating], int]:
        v = Violations()
        v.require(query.institution_id, "institution_id")
        v.raise_if_any()
        if not (staff_of(principal, query.institution_id) or admin_of(principal, query.node)):
            if principal.is_anonymous:
                raise Unauthenticated("sign in first")
            raise PermissionDenied(
                f"requires institution_staff of {query.institution_id} or an admin"
            )
        return repo.list_ratings(query, size, after)

    # -- rectification tickets --------------------------------------------------------------
    @staticmethod
    def _ticket_for(
        repo: FeedbackRepository, principal: Principal, ticket_id: str, lock: bool = False
    ) -> Ticket:
        v = Violations()
        v.require(ticket_id, "ticket_id")
        v.raise_if_any()
        ticket = repo.get_ticket(ticket_id, lock=lock)
        if ticket is None or not (
            staff_of(principal, ticket.institution_id) or admin_of(principal, ticket.node_id)
        ):
            raise errors.TicketNotFound(ticket_id)
        return ticket

    def get_ticket(self, repo: FeedbackRepository, principal: Principal, ticket_id: str) -> Ticket:
        return self._ticket_for(repo, principal, ticket_id)

    def transition_ticket(
        self,
        repo: FeedbackRepository,
        sink: EventSink,
        principal: Principal,
        ticket_id: str,
        to: int,
        note: str,
        now: datetime,
    ) -> Ticket:
        v = Violations()
        v.require(ticket_id, "ticket_id")
        v.check(to in TicketState.__members__.values(), "to", "must be a ticket state")
        v.check(len(note) <= MAX_COMMENT, "note", f"at most {MAX_COMMENT} characters")
        if to == TicketState.FOLLOWED_UP:
            v.check(bool(note.strip()), "note", "must record what the follow-up (回访) found")
        v.raise_if_any()
        ticket = self._ticket_for(repo, principal, ticket_id, lock=True)
        changed = transition(ticket, TicketState(to), principal.subject, note.strip(), now)
        repo.update_ticket(changed)
        sink.ticket_changed(changed)
        return changed

    @staticmethod
    def list_tickets(
        repo: FeedbackRepository, principal: Principal, query: TicketQuery, size: int, after: str
    ) -> tuple[list[Ticket], int]:
        v = Violations()
        v.require(query.institution_id, "institution_id")
        for i, state in enumerate(query.states):
            v.check(
                state in TicketState.__members__.values(), f"states[{i}]", "must be a ticket state"
            )
        v.raise_if_any()
        if not (staff_of(principal, query.institution_id) or admin_of(principal, query.node)):
            if principal.is_anonymous:
                raise Unauthenticated("sign in first")
            raise PermissionDenied(
                f"requires institution_staff of {query.institution_id} or an admin"
            )
        return repo.list_tickets(query, size, after)

    def check_deadlines(
        self, repo: FeedbackRepository, sink: EventSink, today: date, limit: int = 500
    ) -> list[Ticket]:
        """Mark tickets past their due date (China time) as breached; one event each."""
        breached = []
        for ticket in repo.overdue_tickets(today, limit):
            changed = replace(ticket, breached=True, revision=ticket.revision + 1)
            repo.update_ticket(changed)
            sink.ticket_breached(changed)
            breached.append(changed)
        return breached

    # -- appeals (申诉) ------------------------------------------------------------------------
    def file_appeal(
        self,
        repo: FeedbackRepository,
        sink: EventSink,
        principal: Principal,
        rating_id: str,
        grounds: str,
        statement: str,
        appeal_id: str,
        now: datetime,
    ) -> Appeal:
        v = Violations()
        v.require(rating_id, "rating_id")
        v.check(grounds in APPEAL_GROUNDS, "grounds", "must be 'mistaken' or 'malicious'")
        if v.require(statement.strip(), "statement"):
            v.check(
                len(statement) <= MAX_REPORT_TEXT,
                "statement",
                f"at most {MAX_REPORT_TEXT} characters",
            )
        v.raise_if_any()
        rating = repo.get_rating(rating_id, lock=True)
        if rating is None or not (
            staff_of(principal, rating.institution_id) or admin_of(principal, rating.node_id)
        ):
            raise errors.RatingNotFound(rating_id)
        if not staff_of(principal, rating.institution_id):
            raise PermissionDenied("appeals are filed by the rated institution's staff")
        if not rating.level.is_bad:
            raise errors.AppealNotAllowed("only bad reviews can be appealed")
        if rating.excluded:
            raise errors.AppealNotAllowed("the review is already excluded")
        if any(a.decision == Decision.PENDING for a in repo.appeals_for(rating_id)):
            raise errors.AppealNotAllowed("an appeal against this review is already pending")
        appeal = Appeal(
            appeal_id=appeal_id,
            rating_id=rating_id,
            grounds=grounds,
            statement=statement.strip(),
            decision=Decision.PENDING,
            filed_by=principal.subject,
            filed_at=now,
        )
        repo.add_appeal(appeal)
        sink.appeal_changed(appeal, rating)
        return appeal

    def decide_appeal(
        self,
        repo: FeedbackRepository,
        sink: EventSink,
        principal: Principal,
        appeal_id: str,
        decision: int,
        reason: str,
        now: datetime,
    ) -> Appeal:
        v = Violations()
        v.require(appeal_id, "appeal_id")
        v.check(
            decision in (Decision.UPHELD, Decision.REJECTED),
            "decision",
            "must be upheld or rejected",
        )
        if v.require(reason.strip(), "reason"):
            v.check(
                len(reason) <= MAX_REPORT_TEXT, "reason", f"at most {MAX_REPORT_TEXT} characters"
            )
        v.raise_if_any()
        appeal = repo.get_appeal(appeal_id, lock=True)
        rating = repo.get_rating(appeal.rating_id, lock=True) if appeal is not None else None
        if appeal is None or rating is None:
            raise errors.AppealNotFound(appeal_id)
        if principal.is_anonymous:
            raise Unauthenticated("sign in first")
        if not admin_of(principal, rating.node_id):
            raise PermissionDenied(f"appeals are decided by a province admin of {rating.node_id}")
        if appeal.decision != Decision.PENDING:
            raise errors.AppealNotAllowed(f"the appeal was already {appeal.decision.name.lower()}")
        appeal = replace(
            appeal,
            decision=Decision(decision),
            decided_by=principal.subject,
            decided_at=now,
            reason=reason.strip(),
        )
        repo.update_appeal(appeal)
        if appeal.decision == Decision.UPHELD:
            rating = replace(rating, excluded=True)
            repo.set_excluded(rating.rating_id)
            ticket = repo.get_ticket(rating.ticket_id, lock=True) if rating.ticket_id else None
            if ticket is not None and ticket.state not in (TicketState.CLOSED, TicketState.VOIDED):
                voided = transition(
                    ticket,
                    TicketState.VOIDED,
                    principal.subject,
                    "appeal upheld",
                    now,
                    by_appeal=True,
                )
                repo.update_ticket(voided)
                sink.ticket_changed(voided)
        sink.appeal_changed(appeal, rating)
        return appeal

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

    def submit_report(
        self,
        repo: FeedbackRepository,
        sink: EventSink,
        new: NewReport,
        ids: IdSource,
        now: datetime,
    ) -> tuple[Report, bool]:
        """Store a report and put it in a group of near-duplicates; True when it joined one."""
        new = self.validate_report(new)
        best: ReportGroup | None = None
        best_score = 0.0
        mine = bigrams(new.text)
        for group in repo.groups_in(ReportKind(new.kind), new.category, new.region_code):
            score = jaccard(mine, bigrams(group.representative_text))
            if score >= self.settings.duplicate_threshold and score > best_score:
                best, best_score = group, score
        if best is None:
            best = ReportGroup(
                group_id=ids.new(),
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
            report_id=ids.new(),
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

    def demand_without_supply(
        self, repo: FeedbackRepository, principal: Principal, region_code: str
    ) -> list[UnmetDemand]:
        self.require_report_reader(principal)
        v = Violations()
        if region_code:
            v.check(
                divisions.is_valid(region_code), "region_code", "is not a GB/T 2260 division code"
            )
        v.raise_if_any()
        unmet = []
        for category, region, count in repo.need_counts(region_code):
            supply = sum(1 for inst in repo.suppliers(category) if inst.serves(region))
            if supply == 0:
                unmet.append(UnmetDemand(category, region, count, 0))
        unmet.sort(key=lambda u: (-u.need_count, u.category, u.region_code))
        return unmet


# --- ratings, tickets, appeals, reports: types -----------------------------------------------
class TicketState(enum.IntEnum):
    OPEN = 1
    VERIFYING = 2
    RECTIFYING = 3
    RECTIFIED = 4
    FOLLOWED_UP = 5  # 回访 recorded
    CLOSED = 6
    VOIDED = 7  # appeal upheld


# The legal moves; VOIDED is reachable only through an upheld appeal, and a real-name bad
# review must pass FOLLOWED_UP before CLOSED.
TRANSITIONS: dict[TicketState, frozenset[TicketState]] = {
    TicketState.OPEN: frozenset({TicketState.VERIFYING}),
    TicketState.VERIFYING: frozenset({TicketState.RECTIFYING}),
    TicketState.RECTIFYING: frozenset({TicketState.RECTIFIED}),
    TicketState.RECTIFIED: frozenset({TicketState.FOLLOWED_UP, TicketState.CLOSED}),
    TicketState.FOLLOWED_UP: frozenset({TicketState.CLOSED}),
    TicketState.CLOSED: frozenset(),
    TicketState.VOIDED: frozenset(),
}
OPEN_STATES = (
    TicketState.OPEN,
    TicketState.VERIFYING,
    TicketState.RECTIFYING,
    TicketState.RECTIFIED,
    TicketState.FOLLOWED_UP,
)


@dataclass(frozen=True)
class Transition:
    from_state: TicketState | None
    to_state: TicketState
    actor: str
    at: datetime
    note: str = ""


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    rating_id: str
    institution_id: str
    service_item_id: str
    node_id: str
    state: TicketState
    opened_at: datetime
    due_date: date
    deadline_working_days: int
    breached: bool = False
    real_name: bool = False
    history: tuple[Transition, ...] = ()
    revision: int = 1


def transition(
    ticket: Ticket,
    to: TicketState,
    actor: str,
    note: str,
    now: datetime,
    *,
    by_appeal: bool = False,
) -> Ticket:
    """The ticket after a move to `to`, or IllegalTransition naming both states."""
    current = ticket.state
    if to == TicketState.VOIDED:
        if not by_appeal or current not in OPEN_STATES:
            raise errors.IllegalTransition(
                current.name, to.name, "only an upheld appeal voids a ticket"
            )
    elif to not in TRANSITIONS[current]:
        allowed = ", ".join(s.name for s in sorted(TRANSITIONS[current])) or "none (final state)"
        raise errors.IllegalTransition(current.name, to.name, f"allowed: {allowed}")
    elif to == TicketState.CLOSED and current == TicketState.RECTIFIED and ticket.real_name:
        raise errors.IllegalTransition(
            current.name,
            to.name,
            "a real-name bad review needs a recorded follow-up (回访) before closing",
        )
    return replace(
        ticket,
        state=to,
        history=(*ticket.history, Transition(current, to, actor, now, note)),
        revision=ticket.revision + 1,
    )


@dataclass(frozen=True)
class NewRating:
    token: str
    stage: int
    channel: int
    level: int
    indicators: tuple[tuple[str, int], ...] = ()
    comment: str = ""
    real_name: bool = False
    device_id: str = ""


@dataclass(frozen=True)
class Rating:
    rating_id: str
    case_id: str
    stage: Stage
    channel: Channel
    level: Level
    institution_id: str
    service_item_id: str
    node_id: str
    rated_at: datetime
    received_at: datetime
    indicators: tuple[tuple[str, Level], ...] = ()
    comment: str = ""
    real_name: bool = False
    rater: str = ""
    late: bool = False
    flagged: bool = False
    excluded: bool = False
    ticket_id: str = ""
    kiosk_id: str = ""
    client_rating_id: str = ""


class Decision(enum.IntEnum):
    PENDING = 1
    UPHELD = 2
    REJECTED = 3


APPEAL_GROUNDS = frozenset({"mistaken", "malicious"})


@dataclass(frozen=True)
class Appeal:
    appeal_id: str
    rating_id: str
    grounds: str
    statement: str
    decision: Decision
    filed_by: str
    filed_at: datetime
    decided_by: str = ""
    decided_at: datetime | None = None
    reason: str = ""


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


def region_prefix(code: str) -> str:
    """440000 → "44", 440300 → "4403", 440305 → "440305"."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


@dataclass(frozen=True)
class Supplier:
    """A current catalog service item's institution, as the read model knows it."""

    region_code: str
    service_area: tuple[str, ...] = ()

    def serves(self, region: str) -> bool:
        """Serves `region` when either division contains the other, or it lists it."""
        return (
            region.startswith(region_prefix(self.region_code))
            or self.region_code.startswith(region_prefix(region))
            or region in self.service_area
        )


_SKIP = set(" \t\r\n，。！？、；：,.!?;:\"'“”‘’（）()【】[]《》<>-—…·")


def bigrams(text: str) -> frozenset[str]:
    chars = [c for c in text.lower() if c not in _SKIP]
    if len(chars) < 2:
        return frozenset(chars)
    return frozenset(a + b for a, b in pairwise(chars))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


@dataclass(frozen=True)
class RatingQuery:
    institution_id: str
    node: str
    flagged_only: bool = False
    bad_only: bool = False

    def filters(self) -> dict[str, object]:
        return {
            "institution": self.institution_id,
            "flagged": self.flagged_only,
            "bad": self.bad_only,
        }


def rating_sort_key(rating: Rating) -> str:
    """Newest first: the page cursor is (rated_at, rating_id) of the last rating shown."""
    return f"{rating.rated_at.isoformat()}|{rating.rating_id}"


@dataclass(frozen=True)
class TicketQuery:
    institution_id: str
    node: str
    states: tuple[int, ...] = ()
    breached_only: bool = False

    def filters(self) -> dict[str, object]:
        return {
            "institution": self.institution_id,
            "states": sorted(self.states),
            "breached": self.breached_only,
        }


# --- satisfaction indices ---------------------------------------------------------------------
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


# --- what the use cases need from outside ---------------------------------------------------
class IdSource(Protocol):
    def new(self) -> str: ...


class BurstCounter(Protocol):
    def hit(self, key: str) -> int:
        """Count one rating for `key` in the current window; return the window's count."""
        ...


class FeedbackRepository(CaseRepository, Protocol):
    def add_rating(self, rating: Rating) -> None: ...

    def get_rating(self, rating_id: str, lock: bool = False) -> Rating | None: ...

    def rating_by_client(self, kiosk_id: str, client_rating_id: str) -> Rating | None: ...

    def set_excluded(self, rating_id: str) -> None: ...

    def list_ratings(
        self, query: RatingQuery, size: int, after: str
    ) -> tuple[list[Rating], int]: ...

    def add_ticket(self, ticket: Ticket) -> None: ...

    def get_ticket(self, ticket_id: str, lock: bool = False) -> Ticket | None: ...

    def update_ticket(self, ticket: Ticket) -> None: ...

    def list_tickets(
        self, query: TicketQuery, size: int, after: str
    ) -> tuple[list[Ticket], int]: ...

    def overdue_tickets(self, today: date, limit: int) -> list[Ticket]: ...

    def add_appeal(self, appeal: Appeal) -> None: ...

    def get_appeal(self, appeal_id: str, lock: bool = False) -> Appeal | None: ...

    def update_appeal(self, appeal: Appeal) -> None: ...

    def appeals_for(self, rating_id: str) -> Sequence[Appeal]: ...

    def groups_in(
        self, kind: ReportKind, category: str, region_code: str
    ) -> Sequence[ReportGroup]: ...

    def add_group(self, group: ReportGroup, now: datetime) -> None: ...

    def grow_group(self, group_id: str) -> None: ...

    def add_report(self, report: Report) -> None: ...

    def need_counts(self, region_code: str) -> Sequence[tuple[str, str, int]]: ...

    def suppliers(self, category: str) -> Sequence[Supplier]: ...

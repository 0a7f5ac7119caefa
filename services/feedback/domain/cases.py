"""Service cases and the ratings made with their tokens (好差评)."""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from puhui.feedback import errors
from puhui.feedback.domain.common import (
    MAX_COMMENT,
    MAX_ID,
    Rules,
    admin_of,
    china_date,
    require_staff,
    staff_of,
)
from puhui.feedback.domain.tickets import Ticket, TicketState, Transition
from puhui.kit.auth import Principal
from puhui.kit.errors import InvalidArgument, PermissionDenied, Unauthenticated, Violations

if TYPE_CHECKING:
    from puhui.feedback.domain.ports import CaseRepository, EventSink, FeedbackRepository


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


class CaseRules(Rules):
    """Use cases of cases and ratings."""

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

    def record_case(self, principal: Principal, new: NewCase) -> tuple[ServiceCase, str]:
        """Record a case (or return the one recorded under the same request id) and its token."""
        now = self.clock()
        new = self.validate_case(new, now)  # refused before a transaction opens
        case_id = self.ids.new()
        try:
            with self.uow() as (repo, sink):
                return self._record_case(repo, sink, principal, new, case_id, now)
        except errors.Conflict:
            pass  # a concurrent replay of the same request_id won: the retry returns its case
        with self.uow() as (repo, sink):
            return self._record_case(repo, sink, principal, new, case_id, now)

    def _record_case(
        self,
        repo: CaseRepository,
        sink: EventSink,
        principal: Principal,
        new: NewCase,
        case_id: str,
        now: datetime,
    ) -> tuple[ServiceCase, str]:
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

    def get_case(self, principal: Principal, case_id: str) -> ServiceCase:
        v = Violations()
        v.require(case_id, "case_id")
        v.raise_if_any()
        with self.uow.read() as repo:
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
        self, principal: Principal, case_id: str, completed_at: datetime | None
    ) -> ServiceCase:
        now = self.clock()
        v = Violations()
        v.require(case_id, "case_id")
        if completed_at is not None:
            v.check(
                completed_at <= now + timedelta(minutes=5),
                "completed_at",
                "must not be in the future",
            )
        v.raise_if_any()
        with self.uow() as (repo, sink):
            case = repo.get_case(case_id)
            if case is None:
                raise errors.CaseNotFound(case_id)
            require_staff(principal, case.institution_id)
            if case.completed:
                return case
            when = completed_at or now
            case = replace(
                case, completed_at=when, invitation_expires_at=self._invitation_end(when)
            )
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

    def submit_rating(self, principal: Principal, new: NewRating) -> Rating:
        """Accept one rating made with a case's token; bad reviews open a rectification ticket."""
        return self.accept_rating(principal, self.validate_rating(new))

    def accept_rating(
        self,
        principal: Principal,
        new: NewRating,
        *,
        rated_at: datetime | None = None,
        kiosk_id: str = "",
        client_rating_id: str = "",
    ) -> Rating:
        """`submit_rating` for a rating `validate_rating` has already returned."""
        now = self.clock()
        try:
            with self.uow() as (repo, sink):
                return self._accept(
                    repo, sink, principal, new, now, rated_at, kiosk_id, client_rating_id
                )
        except errors.Conflict:
            # A concurrent rating of the same case and stage (or kiosk rating) won the race.
            raise errors.TokenAlreadyUsed(
                "the rating token was already used for this stage"
            ) from None

    def _accept(
        self,
        repo: FeedbackRepository,
        sink: EventSink,
        principal: Principal,
        new: NewRating,
        now: datetime,
        rated_at: datetime | None,
        kiosk_id: str,
        client_rating_id: str,
    ) -> Rating:
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
            flagged |= self.bursts.hit(f"device:{new.device_id}") > self.settings.burst_limit
        if principal.client_address:
            address_count = self.bursts.hit(f"address:{principal.client_address}")
            flagged |= address_count > self.settings.burst_address_limit
        level = Level(new.level)
        rating = Rating(
            rating_id=self.ids.new(),
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
                ticket_id=self.ids.new(),
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

    def get_rating(self, principal: Principal, rating_id: str) -> Rating:
        v = Violations()
        v.require(rating_id, "rating_id")
        v.raise_if_any()
        with self.uow.read() as repo:
            rating = repo.get_rating(rating_id)
        if rating is None or not (
            staff_of(principal, rating.institution_id)
            or admin_of(principal, rating.node_id)
            or (rating.rater and rating.rater == principal.subject)
        ):
            raise errors.RatingNotFound(rating_id)
        return rating

    def list_ratings(
        self, principal: Principal, query: RatingQuery, size: int, after: str
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
        with self.uow.read() as repo:
            return repo.list_ratings(query, size, after)

"""SQL repository of service cases and ratings, and of the read models a case checks."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import and_, func, select, tuple_, update

from puhui.feedback.adapters.tables import (
    SqlStore,
    _update,
    cases,
    catalog_items,
    dumps,
    identity_persons,
    ratings,
)
from puhui.feedback.domain import Channel, Level, Rating, RatingQuery, ServiceCase, Stage
from puhui.kit.times import aware_or_none


def _stages(text: str) -> tuple[Stage, ...]:
    return tuple(Stage(int(s)) for s in text.split(",") if s)


def _row_to_case(row) -> ServiceCase:  # type: ignore[no-untyped-def]
    recorded_at = aware_or_none(row.recorded_at)
    assert recorded_at is not None
    return ServiceCase(
        case_id=row.case_id,
        institution_id=row.institution_id,
        service_item_id=row.service_item_id,
        person_id=row.person_id,
        node_id=row.node_id,
        request_id=row.request_id,
        recorded_by=row.recorded_by,
        recorded_at=recorded_at,
        token_hash=row.token_hash,
        completed_at=aware_or_none(row.completed_at),
        invitation_expires_at=aware_or_none(row.invitation_expires_at),
        rated_stages=_stages(row.rated_stages),
    )


def _case_values(c: ServiceCase) -> dict[str, object]:
    return {
        "case_id": c.case_id,
        "institution_id": c.institution_id,
        "service_item_id": c.service_item_id,
        "person_id": c.person_id,
        "node_id": c.node_id,
        "request_id": c.request_id,
        "recorded_by": c.recorded_by,
        "recorded_at": c.recorded_at,
        "token_hash": c.token_hash,
        "completed_at": c.completed_at,
        "invitation_expires_at": c.invitation_expires_at,
        "rated_stages": ",".join(str(int(s)) for s in sorted(c.rated_stages)),
    }


class SqlCaseRepository(SqlStore):
    # cases ----------------------------------------------------------------------------------
    def add_case(self, case: ServiceCase) -> None:
        self.session.execute(cases.insert(), _case_values(case))

    def update_case(self, case: ServiceCase) -> None:
        _update(self.session, cases, "case_id", _case_values(case))

    def _case_where(self, *conditions, lock: bool = False) -> ServiceCase | None:  # type: ignore[no-untyped-def]
        query = select(cases).where(*conditions)
        if lock:
            query = query.with_for_update()
        row = self.session.execute(query).first()
        return _row_to_case(row) if row else None

    def get_case(self, case_id: str) -> ServiceCase | None:
        return self._case_where(cases.c.case_id == case_id)

    def case_by_request(self, institution_id: str, request_id: str) -> ServiceCase | None:
        return self._case_where(
            cases.c.institution_id == institution_id, cases.c.request_id == request_id
        )

    def item_institution(self, item_id: str) -> str | None:
        t = catalog_items
        found = self.session.execute(select(t.c.institution_id).where(t.c.item_id == item_id))
        return found.scalar()

    def person_known(self, person_id: str) -> bool:
        t = identity_persons
        found = self.session.execute(select(t.c.person_id).where(t.c.person_id == person_id))
        return found.first() is not None

    def case_by_token(self, token_hash: str) -> ServiceCase | None:
        # Locked: two ratings with one token serialise here.
        return self._case_where(cases.c.token_hash == token_hash, lock=True)

    # ratings --------------------------------------------------------------------------------
    def add_rating(self, r: Rating) -> None:
        self.session.execute(ratings.insert(), rating_values(r))

    def get_rating(self, rating_id: str, lock: bool = False) -> Rating | None:
        query = select(ratings).where(ratings.c.rating_id == rating_id)
        if lock:
            query = query.with_for_update()
        row = self.session.execute(query).first()
        return _row_to_rating(row) if row else None

    def rating_by_client(self, kiosk_id: str, client_rating_id: str) -> Rating | None:
        row = self.session.execute(
            select(ratings).where(
                ratings.c.kiosk_id == kiosk_id, ratings.c.client_rating_id == client_rating_id
            )
        ).first()
        return _row_to_rating(row) if row else None

    def set_excluded(self, rating_id: str) -> None:
        self.session.execute(
            update(ratings).where(ratings.c.rating_id == rating_id).values(excluded=True)
        )

    def list_ratings(self, query: RatingQuery, size: int, after: str) -> tuple[list[Rating], int]:
        r = ratings
        conditions = [r.c.institution_id == query.institution_id]
        if query.flagged_only:
            conditions.append(r.c.flagged.is_(True))
        if query.bad_only:
            conditions.append(r.c.level >= int(Level.DISSATISFIED))
        where = and_(*conditions)
        total = self.session.execute(select(func.count()).select_from(r).where(where)).scalar_one()
        rows_q = (
            select(r).where(where).order_by(r.c.rated_at.desc(), r.c.rating_id.desc()).limit(size)
        )
        if after:
            moment, _, rid = after.partition("|")
            rows_q = rows_q.where(
                tuple_(r.c.rated_at, r.c.rating_id) < tuple_(datetime.fromisoformat(moment), rid)
            )
        return [_row_to_rating(row) for row in self.session.execute(rows_q)], total


def rating_values(r: Rating) -> dict[str, object]:
    return {
        "rating_id": r.rating_id,
        "case_id": r.case_id,
        "stage": int(r.stage),
        "channel": int(r.channel),
        "level": int(r.level),
        "indicators": dumps({name: int(level) for name, level in r.indicators}),
        "comment": r.comment,
        "real_name": r.real_name,
        "rater": r.rater,
        "late": r.late,
        "flagged": r.flagged,
        "excluded": r.excluded,
        "rated_at": r.rated_at,
        "received_at": r.received_at,
        "ticket_id": r.ticket_id,
        "institution_id": r.institution_id,
        "service_item_id": r.service_item_id,
        "node_id": r.node_id,
        "kiosk_id": r.kiosk_id or None,
        "client_rating_id": r.client_rating_id or None,
    }


def _row_to_rating(row) -> Rating:  # type: ignore[no-untyped-def]
    rated_at, received_at = aware_or_none(row.rated_at), aware_or_none(row.received_at)
    assert rated_at is not None
    assert received_at is not None
    return Rating(
        rating_id=row.rating_id,
        case_id=row.case_id,
        stage=Stage(row.stage),
        channel=Channel(row.channel),
        level=Level(row.level),
        indicators=tuple((k, Level(v)) for k, v in json.loads(row.indicators).items()),
        comment=row.comment,
        real_name=row.real_name,
        rater=row.rater,
        late=row.late,
        flagged=row.flagged,
        excluded=row.excluded,
        rated_at=rated_at,
        received_at=received_at,
        ticket_id=row.ticket_id,
        institution_id=row.institution_id,
        service_item_id=row.service_item_id,
        node_id=row.node_id,
        kiosk_id=row.kiosk_id or "",
        client_rating_id=row.client_rating_id or "",
    )

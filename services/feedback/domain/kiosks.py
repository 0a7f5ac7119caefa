"""Kiosk sync: ratings made offline on an on-site kiosk, uploaded in batches. Each is
accepted, recognised as already stored (a re-sent batch), or rejected with its reason;
one bad rating never fails the others."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from puhui.feedback import errors
from puhui.feedback.domain.cases import CaseRules, Channel, NewRating, Rating
from puhui.feedback.domain.common import MAX_ID
from puhui.kit.auth import Principal
from puhui.kit.errors import InvalidArgument, PuhuiError, Violations

MAX_SYNC = 500


@dataclass(frozen=True)
class KioskRating:
    client_rating_id: str
    rated_at: datetime | None
    rating: NewRating


@dataclass
class KioskSync:
    accepted: list[Rating] = field(default_factory=list)
    duplicates: int = 0
    # Of the duplicates, those found stored before submitting (not a concurrent sync).
    known: int = 0
    rejected: dict[str, str] = field(default_factory=dict)


class KioskRules(CaseRules):
    """The kiosk use case, on top of the rating rules."""

    def sync_kiosk(
        self, principal: Principal, kiosk_id: str, items: Sequence[KioskRating]
    ) -> KioskSync:
        kiosk = kiosk_id.strip()
        self._validate_sync(kiosk, items)
        result = KioskSync()
        now = self.clock()
        for item in items:
            cid = item.client_rating_id.strip()
            if self._stored(kiosk, cid):
                result.duplicates += 1
                result.known += 1
                continue
            new = item.rating
            if new.channel == 0:  # a kiosk is on site unless it says otherwise
                new = replace(new, channel=Channel.ON_SITE)
            rated_at = item.rated_at
            assert rated_at is not None  # _validate_sync
            try:
                if rated_at > now + timedelta(minutes=5):
                    raise InvalidArgument.field("rated_at", "must not be in the future")
                rating = self.accept_rating(
                    principal,
                    self.validate_rating(new),
                    rated_at=rated_at,
                    kiosk_id=kiosk,
                    client_rating_id=cid,
                )
                result.accepted.append(rating)
            except errors.TokenAlreadyUsed as exc:
                if self._stored(kiosk, cid):  # the same kiosk rating, synced concurrently
                    result.duplicates += 1
                else:
                    result.rejected[cid] = f"{exc.reason}: {exc.message}"
            except PuhuiError as exc:
                result.rejected[cid] = f"{exc.reason}: {exc.message}"
        return result

    @staticmethod
    def _validate_sync(kiosk: str, items: Sequence[KioskRating]) -> None:
        v = Violations()
        if v.require(kiosk, "kiosk_id"):
            v.check(len(kiosk) <= MAX_ID, "kiosk_id", f"at most {MAX_ID} characters")
        v.check(len(items) <= MAX_SYNC, "ratings", f"at most {MAX_SYNC} per call")
        seen: set[str] = set()
        for i, item in enumerate(items):
            cid = item.client_rating_id.strip()
            if v.require(cid, f"ratings[{i}].client_rating_id"):
                v.check(len(cid) <= MAX_ID, f"ratings[{i}].client_rating_id", "too long")
            v.check(cid not in seen, f"ratings[{i}].client_rating_id", "is repeated in this call")
            seen.add(cid)
            v.check(item.rated_at is not None, f"ratings[{i}].rated_at", "is required")
        v.raise_if_any()

    def _stored(self, kiosk: str, client_rating_id: str) -> bool:
        with self.uow.read() as repo:
            return repo.rating_by_client(kiosk, client_rating_id) is not None

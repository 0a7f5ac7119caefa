"""Who may call each FeedbackService RPC: checked by the kit interceptor right after
authentication, before validation (puhui.kit.policy). The domain keeps the finer checks
(staff of the case's institution, admin of the rating's node, the person served)."""

from __future__ import annotations

from puhui.kit.policy import PUBLIC, SIGNED_IN, Rule, roles
from puhui.kit.tokens import ROLE_INSTITUTION_STAFF, ROLE_NATIONAL_ADMIN, ROLE_PROVINCE_ADMIN

ADMINS = (ROLE_PROVINCE_ADMIN, ROLE_NATIONAL_ADMIN)
STAFF_OR_ADMIN = roles(ROLE_INSTITUTION_STAFF, *ADMINS)

POLICY: dict[str, Rule] = {
    "RecordServiceCase": roles(ROLE_INSTITUTION_STAFF),
    # Staff, admins and the person served; others are told the case does not exist.
    "GetServiceCase": SIGNED_IN,
    "CompleteServiceCase": roles(ROLE_INSTITUTION_STAFF),
    # The rating token authorises a rating, signed in or not.
    "SubmitRating": PUBLIC,
    "SyncKioskRatings": PUBLIC,
    # Staff, admins and the rater (domain).
    "GetRating": SIGNED_IN,
    "ListRatings": STAFF_OR_ADMIN,
    "GetTicket": STAFF_OR_ADMIN,
    "ListTickets": STAFF_OR_ADMIN,
    "TransitionTicket": STAFF_OR_ADMIN,
    "FileAppeal": roles(ROLE_INSTITUTION_STAFF),
    "DecideAppeal": roles(*ADMINS),
    "SubmitReport": PUBLIC,
    "ListReportGroups": roles(*ADMINS),
    "GetDemandWithoutSupply": roles(*ADMINS),
    "GetSatisfactionIndex": PUBLIC,
}

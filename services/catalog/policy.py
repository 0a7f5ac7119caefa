"""Who may call each CatalogService RPC: checked by the kit interceptor right after
authentication, before validation (puhui.kit.policy). The domain keeps the finer checks
(staff of which institution, admin of the owning node, national designations)."""

from __future__ import annotations

from puhui.kit.policy import PUBLIC, Rule, roles
from puhui.kit.tokens import ROLE_INSTITUTION_STAFF, ROLE_NATIONAL_ADMIN, ROLE_PROVINCE_ADMIN

ADMINS = (ROLE_PROVINCE_ADMIN, ROLE_NATIONAL_ADMIN)
EDITORS = (ROLE_INSTITUTION_STAFF, *ADMINS)

POLICY: dict[str, Rule] = {
    "CreateInstitution": roles(*ADMINS),
    # Approved entries are public; others only to their staff and admins (domain).
    "GetInstitution": PUBLIC,
    "UpdateInstitution": roles(*EDITORS),
    "ApproveInstitution": roles(*ADMINS),
    "SuspendInstitution": roles(*ADMINS),
    "RetireInstitution": roles(*ADMINS),
    "SearchInstitutions": PUBLIC,
    "CreateServiceItem": roles(*EDITORS),
    "UpdateServiceItem": roles(*EDITORS),
    "GetServiceItem": PUBLIC,
    "ListServiceItemVersions": PUBLIC,
    "SearchServiceItems": PUBLIC,
    "Match": PUBLIC,
}

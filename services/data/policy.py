"""Who may call each DataService / ReferenceService RPC: checked by the kit interceptor
right after authentication, before validation (puhui.kit.policy). Reads are public (and
metered by the quota); writes belong to national admins and this node's service account."""

from __future__ import annotations

from puhui.kit.policy import PUBLIC, Rule, roles
from puhui.kit.tokens import ROLE_NATIONAL_ADMIN, ROLE_NODE_SERVICE

WRITERS = roles(ROLE_NATIONAL_ADMIN, ROLE_NODE_SERVICE)

DATA_POLICY: dict[str, Rule] = {
    "GetPatent": PUBLIC,
    "SearchPatents": PUBLIC,
    "ExportPatents": PUBLIC,
    "PutPatent": WRITERS,
    "GetTrademark": PUBLIC,
    "SearchTrademarks": PUBLIC,
    "GetGeographicalIndication": PUBLIC,
    "SearchGeographicalIndications": PUBLIC,
    "GetIcLayout": PUBLIC,
    "SearchIcLayouts": PUBLIC,
    "PutGeographicalIndication": WRITERS,
    "PutIcLayout": WRITERS,
    "ListChanges": PUBLIC,
    "GetMirrorStatus": PUBLIC,
}

REFERENCE_POLICY: dict[str, Rule] = {
    "GetIpcEntry": PUBLIC,
    "ListIpcChildren": PUBLIC,
    "ListNiceClasses": PUBLIC,
    "ListSimilarGroups": PUBLIC,
    "GetDivision": PUBLIC,
    "ListDivisions": PUBLIC,
}

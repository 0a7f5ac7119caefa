"""Test helpers: principals injected through a small TokenVerifier, error-detail readers."""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from puhui.kit.auth import Principal
from puhui.kit.errors import Unauthenticated

NODE = "440000"
INSTITUTION = "440000-000001"
OTHER_INSTITUTION = "440000-000002"


def staff(institution: str = INSTITUTION, subject: str = "440000:staff-1") -> Principal:
    return Principal(
        subject=subject,
        issuer=NODE,
        roles=frozenset({"institution_staff"}),
        role_scopes=(("institution_staff", institution),),
    )


def person(subject: str = "440000:person-1") -> Principal:
    return Principal(subject=subject, issuer=NODE, roles=frozenset({"innovator"}))


def province_admin(node: str = NODE, subject: str = "440000:admin-1") -> Principal:
    return Principal(
        subject=subject,
        issuer=NODE,
        roles=frozenset({"province_admin"}),
        role_scopes=(("province_admin", node),),
    )


class DictVerifier:
    """Bearer tokens are keys of a dict of principals (test only)."""

    def __init__(self, principals: dict[str, Principal]) -> None:
        self.principals = principals

    def verify(self, token: str) -> Principal:
        try:
            return self.principals[token]
        except KeyError:
            raise Unauthenticated("unknown test token") from None


PRINCIPALS = {
    "staff": staff(),
    "other-staff": staff(OTHER_INSTITUTION, "440000:staff-2"),
    "person": person(),
    "admin": province_admin(),
}

# Integration tests run as a node no other suite uses (Xinjiang), so the node's Kafka
# topics and consumer groups are not shared with other services' tests running at the
# same time on the shared broker (a shared group would split the partitions between apps
# with different databases).
IT_NODE = "650000"
IT_INSTITUTION = f"{IT_NODE}-000001"
IT_OTHER_INSTITUTION = f"{IT_NODE}-000002"
IT_PERSON = f"{IT_NODE}:person-1"
IT_STAFF = f"{IT_NODE}:staff-1"
IT_ADMIN = f"{IT_NODE}:admin-1"
IT_PRINCIPALS = {
    "staff": staff(IT_INSTITUTION, IT_STAFF),
    "other-staff": staff(IT_OTHER_INSTITUTION, f"{IT_NODE}:staff-2"),
    "person": person(IT_PERSON),
    "admin": province_admin(IT_NODE, IT_ADMIN),
}


def reason(err: grpc.RpcError) -> str:
    status = rpc_status.from_call(err)
    if status is None:
        return ""
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info.reason
    return ""

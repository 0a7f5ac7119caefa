"""IdentityService gRPC servicer: proto ↔ domain only."""

from __future__ import annotations

from typing import Any

import grpc
from sqlalchemy.orm import Session as DbSession

from puhui.identity import domain, metrics
from puhui.identity.adapters.db import sort_key
from puhui.identity.v1 import events_pb2, identity_pb2, identity_pb2_grpc
from puhui.kit.auth import current_principal
from puhui.kit.outbox import Outbox, to_timestamp
from puhui.kit.pagination import page_request


def _enum(value: int) -> Any:
    """A domain IntEnum as a proto enum value (same numbers by design)."""
    return int(value)


def grant_to_proto(g: domain.Grant) -> identity_pb2.RoleGrant:
    return identity_pb2.RoleGrant(role=_enum(g.role), scope=g.scope)


def membership_to_proto(m: domain.Membership) -> identity_pb2.Membership:
    return identity_pb2.Membership(
        person_id=m.person_id, organisation_id=m.organisation_id, role=_enum(m.role)
    )


def person_to_proto(p: domain.Person) -> identity_pb2.Person:
    return identity_pb2.Person(
        person_id=p.person_id,
        home_node=p.home_node,
        display_name=p.display_name,
        email=p.email,
        mobile=p.mobile,
        id_number_masked=p.id_number_masked,
        assurance_level=_enum(p.assurance),
        roles=[grant_to_proto(g) for g in p.grants],
        memberships=[membership_to_proto(m) for m in p.memberships],
        created_at=to_timestamp(p.created_at),
    )


def organisation_to_proto(o: domain.Organisation) -> identity_pb2.Organisation:
    return identity_pb2.Organisation(
        organisation_id=o.organisation_id,
        credit_code=o.credit_code,
        name=o.name,
        type=_enum(o.type),
        region_code=o.region_code,
        home_node=o.home_node,
        created_at=to_timestamp(o.created_at),
    )


def session_to_proto(s: domain.Session) -> identity_pb2.SignInResponse:
    msg = identity_pb2.SignInResponse(
        access_token=s.access_token,
        token_type="Bearer",  # noqa: S106 (the OAuth token type, not a secret)
        expires_in_seconds=s.expires_in_seconds,
        refresh_token=s.refresh_token,
    )
    if s.person is not None:
        msg.person.CopyFrom(person_to_proto(s.person))
    return msg


class OutboxEvents(domain.EventSink):
    """The domain's EventSink, writing to the outbox in the same transaction.
    Payloads carry ids and outcomes only: no password, token, secret or ID number."""

    def __init__(self, outbox: Outbox, session: DbSession) -> None:
        self.outbox = outbox
        self.session = session

    def _record(self, payload: Any, subject: str) -> None:
        self.outbox.record(self.session, payload, subject=subject)

    def person_registered(self, person: domain.Person) -> None:
        metrics.REGISTRATIONS.labels(node=self.outbox.node, kind="person").inc()
        self._record(
            events_pb2.PersonRegistered(
                person_id=person.person_id,
                home_node=person.home_node,
                assurance_level=_enum(person.assurance),
            ),
            f"person/{person.person_id}",
        )

    def person_verified(self, person: domain.Person, method: str, actor: str) -> None:
        self._record(
            events_pb2.PersonVerified(
                person_id=person.person_id,
                assurance_level=_enum(person.assurance),
                method=method,
                actor=actor,
            ),
            f"person/{person.person_id}",
        )

    def sign_in_attempted(
        self, person_id: str, result: domain.SignInResult, client_network: str
    ) -> None:
        metrics.SIGN_INS.labels(node=self.outbox.node, result=result.name.lower()).inc()
        self._record(
            events_pb2.SignInAttempted(
                person_id=person_id, result=_enum(result), client_network=client_network
            ),
            f"person/{person_id}" if person_id else "sign-in/unknown-account",
        )

    def role_changed(self, person_id: str, grant: domain.Grant, granted: bool, actor: str) -> None:
        self._record(
            events_pb2.RoleChanged(
                person_id=person_id, grant=grant_to_proto(grant), granted=granted, actor=actor
            ),
            f"person/{person_id}",
        )

    def membership_changed(self, membership: domain.Membership, added: bool, actor: str) -> None:
        self._record(
            events_pb2.MembershipChanged(
                person_id=membership.person_id,
                organisation_id=membership.organisation_id,
                role=_enum(membership.role),
                added=added,
                actor=actor,
            ),
            f"organisation/{membership.organisation_id}",
        )

    def key_set_changed(self, issuer: str, jwks: dict[str, Any], change: str, kid: str) -> None:
        metrics.KEY_CHANGES.labels(node=self.outbox.node, kind=change).inc()
        self._record(
            events_pb2.KeySetChanged(
                issuer=issuer, jwks_json=domain.jwks_json(jwks), change=change, kid=kid
            ),
            f"keys/{issuer}",
        )


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(self, identity: domain.Identity) -> None:
        self.identity = identity

    def RegisterPerson(
        self, request: identity_pb2.RegisterPersonRequest, context: grpc.ServicerContext
    ) -> identity_pb2.RegisterPersonResponse:
        person = self.identity.register_person(
            domain.NewPerson(
                display_name=request.display_name,
                email=request.email,
                mobile=request.mobile,
                password=request.password,
                id_number=request.id_number,
            )
        )
        return identity_pb2.RegisterPersonResponse(person=person_to_proto(person))

    def SignIn(
        self, request: identity_pb2.SignInRequest, context: grpc.ServicerContext
    ) -> identity_pb2.SignInResponse:
        principal = current_principal()
        session = self.identity.sign_in(
            request.login, request.password, request.audience, principal.client_address
        )
        return session_to_proto(session)

    def RefreshTokens(
        self, request: identity_pb2.RefreshTokensRequest, context: grpc.ServicerContext
    ) -> identity_pb2.SignInResponse:
        return session_to_proto(self.identity.refresh(request.refresh_token))

    def SignOut(
        self, request: identity_pb2.SignOutRequest, context: grpc.ServicerContext
    ) -> identity_pb2.SignOutResponse:
        self.identity.sign_out(current_principal(), request.refresh_token)
        return identity_pb2.SignOutResponse()

    def IssueServiceToken(
        self, request: identity_pb2.IssueServiceTokenRequest, context: grpc.ServicerContext
    ) -> identity_pb2.SignInResponse:
        session = self.identity.issue_service_token(
            request.client_id,
            request.client_secret,
            list(request.scopes),
            request.audience,
            current_principal().client_address,
        )
        return session_to_proto(session)

    def GetMe(
        self, request: identity_pb2.GetMeRequest, context: grpc.ServicerContext
    ) -> identity_pb2.Person:
        return person_to_proto(self.identity.get_me(current_principal()))

    def GetPerson(
        self, request: identity_pb2.GetPersonRequest, context: grpc.ServicerContext
    ) -> identity_pb2.Person:
        return person_to_proto(self.identity.read_person(current_principal(), request.person_id))

    def VerifyPerson(
        self, request: identity_pb2.VerifyPersonRequest, context: grpc.ServicerContext
    ) -> identity_pb2.Person:
        person = self.identity.verify_person(
            current_principal(), request.person_id, request.assurance_level, request.method
        )
        return person_to_proto(person)

    def CreateOrganisation(
        self, request: identity_pb2.CreateOrganisationRequest, context: grpc.ServicerContext
    ) -> identity_pb2.Organisation:
        org = self.identity.create_organisation(
            current_principal(),
            domain.NewOrganisation(
                request.credit_code, request.name, request.type, request.region_code
            ),
        )
        return organisation_to_proto(org)

    def GetOrganisation(
        self, request: identity_pb2.GetOrganisationRequest, context: grpc.ServicerContext
    ) -> identity_pb2.Organisation:
        return organisation_to_proto(self.identity.get_organisation(request.organisation_id))

    def ListOrganisations(
        self, request: identity_pb2.ListOrganisationsRequest, context: grpc.ServicerContext
    ) -> identity_pb2.ListOrganisationsResponse:
        query = domain.OrganisationQuery(type=request.type, region_code=request.region_code.strip())
        page = page_request(request.page_size, request.page_token, query.filters())
        items, total = self.identity.list_organisations(query, page)
        next_token = page.token_after(items, sort_key)
        return identity_pb2.ListOrganisationsResponse(
            organisations=[organisation_to_proto(o) for o in items],
            next_page_token=next_token,
            total_size=total,
        )

    def AddMembership(
        self, request: identity_pb2.AddMembershipRequest, context: grpc.ServicerContext
    ) -> identity_pb2.Membership:
        m = self.identity.add_membership(
            current_principal(), request.organisation_id, request.person_id, request.role
        )
        return membership_to_proto(m)

    def RemoveMembership(
        self, request: identity_pb2.RemoveMembershipRequest, context: grpc.ServicerContext
    ) -> identity_pb2.RemoveMembershipResponse:
        self.identity.remove_membership(
            current_principal(), request.organisation_id, request.person_id
        )
        return identity_pb2.RemoveMembershipResponse()

    def GrantRole(
        self, request: identity_pb2.GrantRoleRequest, context: grpc.ServicerContext
    ) -> identity_pb2.Person:
        person = self.identity.change_role(
            current_principal(),
            request.person_id,
            request.grant.role,
            request.grant.scope,
            grant=True,
        )
        return person_to_proto(person)

    def RevokeRole(
        self, request: identity_pb2.RevokeRoleRequest, context: grpc.ServicerContext
    ) -> identity_pb2.Person:
        person = self.identity.change_role(
            current_principal(),
            request.person_id,
            request.grant.role,
            request.grant.scope,
            grant=False,
        )
        return person_to_proto(person)

    def GetJwks(
        self, request: identity_pb2.GetJwksRequest, context: grpc.ServicerContext
    ) -> identity_pb2.GetJwksResponse:
        return identity_pb2.GetJwksResponse(
            jwks_json=self.identity.jwks_document(), issuer=self.identity.node
        )

    def RevokeToken(
        self, request: identity_pb2.RevokeTokenRequest, context: grpc.ServicerContext
    ) -> identity_pb2.RevokeTokenResponse:
        self.identity.revoke_token(current_principal(), request.jti)
        return identity_pb2.RevokeTokenResponse()

"""Organisations and memberships."""

from __future__ import annotations

from puhui.identity import validation
from puhui.identity.domain.model import (
    MAX_ORG_NAME,
    Membership,
    MembershipRole,
    NewOrganisation,
    Organisation,
    OrganisationQuery,
    OrganisationType,
)
from puhui.identity.domain.persons import PersonUseCases
from puhui.identity.domain.ports import Repository
from puhui.identity.errors import (
    AlreadyExists,
    FailedPrecondition,
    OrganisationNotFound,
    PersonNotFound,
)
from puhui.kit import tokens as kt
from puhui.kit.auth import Principal
from puhui.kit.config import HUB_NODE_ID
from puhui.kit.errors import Violations
from puhui.kit.ids import new_id
from puhui.kit.pagination import Page
from puhui.refdata import divisions


class OrganisationUseCases(PersonUseCases):
    """Organisations and their memberships."""

    # -- organisations --------------------------------------------------------------------
    def validate_new_organisation(self, new: NewOrganisation) -> NewOrganisation:
        v = Violations()
        code = validation.normalise_credit_code(new.credit_code)
        if v.require(code, "credit_code"):
            v.check(
                validation.is_valid_credit_code(code),
                "credit_code",
                "is not a unified social credit code (GB 32100-2015: 18 characters, check)",
            )
        name = new.name.strip()
        v.require(name, "name")
        v.check(len(name) <= MAX_ORG_NAME, "name", f"at most {MAX_ORG_NAME} characters")
        v.check(
            new.type in OrganisationType.__members__.values(),
            "type",
            "must be a known organisation type",
        )
        region = new.region_code.strip()
        if (
            v.require(region, "region_code")
            and v.check(
                divisions.is_valid(region), "region_code", "is not a GB/T 2260 division code"
            )
            and self.node != HUB_NODE_ID
        ):
            province = divisions.province_of(region)
            v.check(
                province is not None and province.code == self.node,
                "region_code",
                f"must lie in this node's province {self.node}",
            )
        v.raise_if_any()
        return NewOrganisation(code, name, new.type, region)

    def create_organisation(self, principal: Principal, new: NewOrganisation) -> Organisation:
        kt.authorize(principal)
        new = self.validate_new_organisation(new)
        org = Organisation(
            organisation_id=f"{self.node}:{new_id()}",
            credit_code=new.credit_code,
            name=new.name,
            type=OrganisationType(new.type),
            region_code=new.region_code,
            home_node=self.node,
            created_at=self.now(),
        )
        with self.uow() as (repo, events):
            if repo.organisation_by_code(new.credit_code) is not None:
                raise AlreadyExists("an organisation with this credit_code already exists")
            repo.add_organisation(org)
            if principal.issuer == self.node and repo.get_person(principal.subject) is not None:
                creator = Membership(principal.subject, org.organisation_id, MembershipRole.ADMIN)
                repo.put_membership(creator)
                events.membership_changed(creator, True, principal.subject)
        return org

    def get_organisation(self, organisation_id: str) -> Organisation:
        v = Violations()
        v.require(organisation_id, "organisation_id")
        v.raise_if_any()
        with self.uow() as (repo, _):
            org = repo.get_organisation(organisation_id)
        if org is None:
            raise OrganisationNotFound(organisation_id)
        return org

    def list_organisations(
        self, query: OrganisationQuery, page: Page
    ) -> tuple[list[Organisation], int]:
        v = Violations()
        if query.type:
            v.check(
                query.type in OrganisationType.__members__.values(),
                "type",
                "must be a known organisation type",
            )
        if query.region_code:
            v.check(
                divisions.is_valid(query.region_code),
                "region_code",
                "is not a GB/T 2260 division code",
            )
        v.raise_if_any()
        with self.uow() as (repo, _):
            return repo.list_organisations(query, page)

    def _authorise_membership(
        self, repo: Repository, principal: Principal, organisation_id: str
    ) -> None:
        kt.authorize(principal)
        own = (
            repo.membership(principal.subject, organisation_id)
            if principal.issuer == self.node
            else None
        )
        if own is not None and own.role == MembershipRole.ADMIN:
            return
        kt.authorize(
            principal, roles=[kt.ROLE_PROVINCE_ADMIN, kt.ROLE_NATIONAL_ADMIN], scope_node=self.node
        )

    def add_membership(
        self, principal: Principal, organisation_id: str, person_id: str, role: int
    ) -> Membership:
        v = Violations()
        v.require(organisation_id, "organisation_id")
        v.require(person_id, "person_id")
        v.check(role in MembershipRole.__members__.values(), "role", "must be MEMBER or ADMIN")
        v.raise_if_any()
        membership = Membership(person_id, organisation_id, MembershipRole(role))
        with self.uow() as (repo, events):
            if repo.get_organisation(organisation_id) is None:
                raise OrganisationNotFound(organisation_id)
            self._authorise_membership(repo, principal, organisation_id)
            if repo.get_person(person_id) is None:
                raise PersonNotFound(person_id)
            if repo.membership(person_id, organisation_id) != membership:
                repo.put_membership(membership)
                events.membership_changed(membership, True, principal.subject)
        return membership

    def remove_membership(self, principal: Principal, organisation_id: str, person_id: str) -> None:
        v = Violations()
        v.require(organisation_id, "organisation_id")
        v.require(person_id, "person_id")
        v.raise_if_any()
        with self.uow() as (repo, events):
            if repo.get_organisation(organisation_id) is None:
                raise OrganisationNotFound(organisation_id)
            self._authorise_membership(repo, principal, organisation_id)
            existing = repo.membership(person_id, organisation_id)
            if existing is None:
                raise FailedPrecondition("that person is not a member of this organisation")
            repo.remove_membership(person_id, organisation_id)
            events.membership_changed(existing, False, principal.subject)

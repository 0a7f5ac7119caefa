"""Persons and roles: registration, reading a person, verification, role grants."""

from __future__ import annotations

from dataclasses import replace

from puhui.identity import validation
from puhui.identity.domain.model import (
    MAX_NAME,
    Assurance,
    Grant,
    NewPerson,
    Person,
    Role,
    staff_view,
)
from puhui.identity.domain.sessions import SessionUseCases
from puhui.identity.errors import (
    AlreadyExists,
    PersonNotFound,
)
from puhui.kit import tokens as kt
from puhui.kit.auth import Principal
from puhui.kit.config import HUB_NODE_ID
from puhui.kit.errors import Violations
from puhui.kit.ids import new_id
from puhui.refdata import divisions


class PersonUseCases(SessionUseCases):
    """Persons and roles: registration, reading, verification, role grants."""

    # -- registration ---------------------------------------------------------------------
    def validate_new_person(self, new: NewPerson) -> NewPerson:
        v = Violations()
        name = new.display_name.strip()
        v.require(name, "display_name")
        v.check(len(name) <= MAX_NAME, "display_name", f"at most {MAX_NAME} characters")
        email = validation.normalise_email(new.email) if new.email.strip() else ""
        mobile = validation.normalise_mobile(new.mobile) if new.mobile.strip() else ""
        if not email and not mobile:
            v.add("email", "an e-mail address or a mobile number is required")
        if email:
            v.check(validation.is_valid_email(email), "email", "is not an e-mail address")
        if mobile:
            v.check(
                validation.is_valid_mobile(mobile),
                "mobile",
                "is not a mainland mobile number (11 digits, 1[3-9]…)",
            )
        if v.require(new.password, "password"):
            for problem in validation.password_problems(new.password, (email, mobile)):
                v.add("password", problem)
        id_number = validation.normalise_id_number(new.id_number) if new.id_number.strip() else ""
        if id_number:
            v.check(
                validation.is_valid_id_number(id_number),
                "id_number",
                "is not a valid resident identity number (GB 11643: format, birth date, check)",
            )
        v.raise_if_any()
        return replace(new, display_name=name, email=email, mobile=mobile, id_number=id_number)

    def register_person(self, new: NewPerson) -> Person:
        new = self.validate_new_person(new)
        password_hash = self.passwords.hash(new.password)  # before the transaction: slow
        person_id = f"{self.node}:{new_id()}"
        lookup = self.id_numbers.lookup_hash(new.id_number) if new.id_number else ""
        cipher = self.id_numbers.encrypt(new.id_number, person_id) if new.id_number else None
        person = Person(
            person_id=person_id,
            home_node=self.node,
            display_name=new.display_name,
            email=new.email,
            mobile=new.mobile,
            id_number_masked=validation.mask_id_number(new.id_number) if new.id_number else "",
            assurance=Assurance.LOW,
            password_hash=password_hash,
            created_at=self.now(),
            grants=(Grant(Role.INNOVATOR),),
        )
        with self.uow() as (repo, events):
            clashes = repo.person_clashes(new.email, new.mobile, lookup)
            if clashes:
                raise AlreadyExists(f"an account with this {' and '.join(clashes)} already exists")
            repo.add_person(person, cipher, lookup or None)
            repo.add_grant(person_id, Grant(Role.INNOVATOR), person_id, person.created_at)
            events.person_registered(person)
        return person

    # -- persons --------------------------------------------------------------------------
    def get_person(self, person_id: str) -> Person:
        with self.uow() as (repo, _):
            person = repo.get_person(person_id)
        if person is None:
            raise PersonNotFound(person_id)
        return person

    def get_me(self, principal: Principal) -> Person:
        kt.authorize(principal)
        if principal.issuer != self.node:
            raise PersonNotFound(principal.subject)
        return self.get_person(principal.subject)

    def _is_node_admin(self, principal: Principal) -> bool:
        return kt.holds(principal, kt.ROLE_PROVINCE_ADMIN, scope_node=self.node) or kt.holds(
            principal, kt.ROLE_NATIONAL_ADMIN
        )

    def _served_by_staff(self, principal: Principal, person_id: str) -> bool:
        """Has one of the caller's institutions recorded a case for this person?"""
        institutions = [s for r, s in principal.role_scopes if r == kt.ROLE_INSTITUTION_STAFF]
        with self.uow() as (repo, _):
            return repo.served_by(person_id, institutions)

    def read_person(self, principal: Principal, person_id: str) -> Person:
        """Oneself and the node's admins: the whole record. Staff: the staff view of a
        person one of their institutions has served (anyone else is not found to them)."""
        kt.authorize(principal)
        v = Violations()
        v.require(person_id, "person_id")
        v.raise_if_any()
        if principal.subject == person_id or self._is_node_admin(principal):
            return self.get_person(person_id)
        kt.authorize(principal, roles=[kt.ROLE_INSTITUTION_STAFF])
        if not self._served_by_staff(principal, person_id):
            raise PersonNotFound(person_id)
        return staff_view(self.get_person(person_id))

    def verify_person(
        self, principal: Principal, person_id: str, level: int, method: str
    ) -> Person:
        """Admins of the node verify anyone (HIGH only they); staff raise to SUBSTANTIAL
        only persons their institution has served, and see the staff view."""
        kt.authorize(principal, min_assurance=kt.ASSURANCE_SUBSTANTIAL)
        v = Violations()
        v.require(person_id, "person_id")
        v.check(
            level in (Assurance.SUBSTANTIAL, Assurance.HIGH),
            "assurance_level",
            "must be SUBSTANTIAL or HIGH",
        )
        v.require(method.strip(), "method")
        v.check(len(method) <= 100, "method", "at most 100 characters")
        v.raise_if_any()
        admins = [kt.ROLE_PROVINCE_ADMIN, kt.ROLE_NATIONAL_ADMIN]
        roles = admins if level == Assurance.HIGH else [kt.ROLE_INSTITUTION_STAFF, *admins]
        kt.authorize(
            principal, roles=roles, scope_node=self.node, min_assurance=kt.ASSURANCE_SUBSTANTIAL
        )
        admin = self._is_node_admin(principal)
        if not admin and not self._served_by_staff(principal, person_id):
            raise PersonNotFound(person_id)
        with self.uow() as (repo, events):
            person = repo.get_person(person_id)
            if person is None:
                raise PersonNotFound(person_id)
            if person.assurance < level:
                repo.set_assurance(person_id, Assurance(level))
                person = replace(person, assurance=Assurance(level))
                events.person_verified(person, method.strip(), principal.subject)
        return person if admin else staff_view(person)

    # -- roles ----------------------------------------------------------------------------
    def validate_grant(self, grant: Grant, v: Violations) -> None:
        role, scope = grant.role, grant.scope
        if role == Role.INSTITUTION_STAFF:
            node, _, number = scope.partition("-")
            v.check(
                len(node) == 6 and node.isdigit() and number.isdigit() and len(number) == 6,
                "grant.scope",
                "must be an institution id (<node>-NNNNNN)",
            )
            if self.node != HUB_NODE_ID:
                v.check(
                    node == self.node,
                    "grant.scope",
                    f"must be an institution of this node {self.node}",
                )
        elif role == Role.PROVINCE_ADMIN:
            v.check(
                bool(divisions.is_valid(scope)) and scope.endswith("0000"),
                "grant.scope",
                "must be a province node id",
            )
            if self.node != HUB_NODE_ID:
                v.check(scope == self.node, "grant.scope", f"must be this node {self.node}")
        elif role == Role.NATIONAL_ADMIN:
            v.check(not scope, "grant.scope", "must be empty")
            v.check(
                self.node == HUB_NODE_ID,
                "grant.role",
                "national admins are granted on the hub only",
            )
        elif role == Role.INNOVATOR:
            v.check(not scope, "grant.scope", "must be empty")

    def _authorise_grant(self, principal: Principal, grant: Grant) -> None:
        if grant.role == Role.NATIONAL_ADMIN:
            roles = [kt.ROLE_NATIONAL_ADMIN]
        else:
            roles = [kt.ROLE_PROVINCE_ADMIN, kt.ROLE_NATIONAL_ADMIN]
        scope_node = grant.scope if grant.role == Role.PROVINCE_ADMIN else self.node
        kt.authorize(
            principal, roles=roles, scope_node=scope_node, min_assurance=kt.ASSURANCE_SUBSTANTIAL
        )

    def change_role(
        self, principal: Principal | None, person_id: str, role: int, scope: str, *, grant: bool
    ) -> Person:
        """Grant or revoke; `principal` None = the operator's command line (trusted)."""
        v = Violations()
        v.require(person_id, "person_id")
        if v.check(
            role in Role.__members__.values() and role != Role.NODE_SERVICE,
            "grant.role",
            "must be INNOVATOR, INSTITUTION_STAFF, PROVINCE_ADMIN or NATIONAL_ADMIN",
        ):
            self.validate_grant(Grant(Role(role), scope.strip()), v)
        v.raise_if_any()
        the_grant = Grant(Role(role), scope.strip())
        actor = "operator"
        if principal is not None:
            self._authorise_grant(principal, the_grant)
            actor = principal.subject
        with self.uow() as (repo, events):
            if repo.get_person(person_id) is None:
                raise PersonNotFound(person_id)
            changed = (
                repo.add_grant(person_id, the_grant, actor, self.now())
                if grant
                else repo.remove_grant(person_id, the_grant)
            )
            if changed:
                events.role_changed(person_id, the_grant, grant, actor)
            person = repo.get_person(person_id)
        assert person is not None
        return person

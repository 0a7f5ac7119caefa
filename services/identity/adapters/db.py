"""Identity storage: SQLAlchemy tables and the repository the domain asks for."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from puhui.identity.domain import (
    Assurance,
    EventSink,
    Grant,
    KeyStatus,
    Membership,
    MembershipRole,
    Organisation,
    OrganisationQuery,
    OrganisationType,
    Person,
    RefreshFamily,
    RefreshRecord,
    Repository,
    Role,
    ServiceAccount,
    SigningKey,
)
from puhui.kit.db import Database, new_metadata
from puhui.kit.errors import AlreadyExists
from puhui.kit.inbox import inbox_table
from puhui.kit.outbox import outbox_table
from puhui.kit.pagination import Page
from puhui.kit.times import utc_or_none

metadata = new_metadata()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

persons = Table(
    "persons",
    metadata,
    Column("person_id", String(64), primary_key=True),
    Column("home_node", String(6), nullable=False),
    Column("display_name", String(100), nullable=False),
    Column("email", String(254), nullable=True, unique=True),
    Column("mobile", String(20), nullable=True, unique=True),
    Column("password_hash", String(200), nullable=False),
    # AES-256-GCM (nonce || ciphertext+tag), associated data = person_id.
    Column("id_number_cipher", LargeBinary, nullable=True),
    # HMAC-SHA256 of the normalised number under a key derived from the config key.
    Column("id_number_lookup", String(64), nullable=True, unique=True),
    Column("id_number_masked", String(18), nullable=False, default=""),
    Column("assurance", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

role_grants = Table(
    "role_grants",
    metadata,
    Column(
        "person_id",
        String(64),
        ForeignKey("persons.person_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("role", Integer, primary_key=True),
    Column("scope", String(64), primary_key=True),
    Column("granted_by", String(100), nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
)

organisations = Table(
    "organisations",
    metadata,
    Column("organisation_id", String(64), primary_key=True),
    Column("credit_code", String(18), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("type", Integer, nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("home_node", String(6), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_organisations_name_id", "name", "organisation_id"),
)

memberships = Table(
    "memberships",
    metadata,
    Column(
        "person_id",
        String(64),
        ForeignKey("persons.person_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "organisation_id",
        String(64),
        ForeignKey("organisations.organisation_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("role", Integer, nullable=False),
    Index("ix_memberships_organisation", "organisation_id"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("public_jwk", Text, nullable=False),
    # PKCS#8 PEM sealed with AES-256-GCM under PUHUI_IDENTITY_KEY_ENCRYPTION_KEY (aad = kid).
    Column("private_key_sealed", LargeBinary, nullable=False),
    Column("status", String(10), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("status_changed_at", DateTime(timezone=True), nullable=True),
)

refresh_families = Table(
    "refresh_families",
    metadata,
    Column("family_id", String(36), primary_key=True),
    Column(
        "person_id", String(64), ForeignKey("persons.person_id", ondelete="CASCADE"), nullable=False
    ),
    Column("audience", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("last_jti", String(36), nullable=False, default=""),
    Column("last_jti_expires_at", DateTime(timezone=True), nullable=True),
    Index("ix_refresh_families_person", "person_id"),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    # SHA-256 of the opaque token; the token itself is never stored.
    Column("token_hash", String(64), primary_key=True),
    Column(
        "family_id",
        String(36),
        ForeignKey("refresh_families.family_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Index("ix_refresh_tokens_family", "family_id"),
)

service_accounts = Table(
    "service_accounts",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("secret_hash", String(64), nullable=False),
    Column("node", String(6), nullable=False),
    Column("scopes", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Read model: which institutions have served which of this node's persons, from the
# feedback services' ServiceCaseRecorded events (puhui.identity.adapters.served). Staff
# may read a person only through it.
served_persons = Table(
    "served_persons",
    metadata,
    Column("person_id", String(64), primary_key=True),
    Column("institution_id", String(64), primary_key=True),
    Column("first_served_at", DateTime(timezone=True), nullable=False),
)


def _org(row: Any) -> Organisation:
    return Organisation(
        organisation_id=row.organisation_id,
        credit_code=row.credit_code,
        name=row.name,
        type=OrganisationType(row.type),
        region_code=row.region_code,
        home_node=row.home_node,
        created_at=utc_or_none(row.created_at) or datetime.now(UTC),
    )


def _family(row: Any) -> RefreshFamily:
    return RefreshFamily(
        family_id=row.family_id,
        person_id=row.person_id,
        audience=row.audience,
        expires_at=utc_or_none(row.expires_at) or datetime.now(UTC),
        revoked_at=utc_or_none(row.revoked_at),
        last_jti=row.last_jti,
        last_jti_expires_at=utc_or_none(row.last_jti_expires_at),
    )


class SqlRepository(Repository):
    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    # -- persons --------------------------------------------------------------------------
    def person_clashes(self, email: str, mobile: str, id_lookup: str) -> list[str]:
        clashes = []
        p = persons.c
        for name, column, value in (
            ("email", p.email, email),
            ("mobile", p.mobile, mobile),
            ("id_number", p.id_number_lookup, id_lookup),
        ):
            if value and self.session.execute(select(p.person_id).where(column == value)).first():
                clashes.append(name)
        return clashes

    def add_person(self, person: Person, id_cipher: bytes | None, id_lookup: str | None) -> None:
        self.session.execute(
            persons.insert().values(
                person_id=person.person_id,
                home_node=person.home_node,
                display_name=person.display_name,
                email=person.email or None,
                mobile=person.mobile or None,
                password_hash=person.password_hash,
                id_number_cipher=id_cipher,
                id_number_lookup=id_lookup,
                id_number_masked=person.id_number_masked,
                assurance=int(person.assurance),
                created_at=person.created_at,
            )
        )

    def _person(self, row: Any) -> Person:
        grants = tuple(
            Grant(Role(g.role), g.scope)
            for g in self.session.execute(
                select(role_grants.c.role, role_grants.c.scope)
                .where(role_grants.c.person_id == row.person_id)
                .order_by(role_grants.c.role, role_grants.c.scope)
            )
        )
        members = tuple(
            Membership(row.person_id, m.organisation_id, MembershipRole(m.role))
            for m in self.session.execute(
                select(memberships.c.organisation_id, memberships.c.role)
                .where(memberships.c.person_id == row.person_id)
                .order_by(memberships.c.organisation_id)
            )
        )
        return Person(
            person_id=row.person_id,
            home_node=row.home_node,
            display_name=row.display_name,
            email=row.email or "",
            mobile=row.mobile or "",
            id_number_masked=row.id_number_masked,
            assurance=Assurance(row.assurance),
            password_hash=row.password_hash,
            created_at=utc_or_none(row.created_at) or datetime.now(UTC),
            grants=grants,
            memberships=members,
        )

    def get_person(self, person_id: str) -> Person | None:
        row = self.session.execute(select(persons).where(persons.c.person_id == person_id)).first()
        return self._person(row) if row else None

    def person_by_login(self, login: str) -> Person | None:
        column = persons.c.email if "@" in login else persons.c.mobile
        row = self.session.execute(select(persons).where(column == login)).first()
        return self._person(row) if row else None

    def set_password_hash(self, person_id: str, password_hash: str) -> None:
        self.session.execute(
            update(persons)
            .where(persons.c.person_id == person_id)
            .values(password_hash=password_hash)
        )

    def set_assurance(self, person_id: str, level: Assurance) -> None:
        self.session.execute(
            update(persons).where(persons.c.person_id == person_id).values(assurance=int(level))
        )

    def add_grant(self, person_id: str, grant: Grant, actor: str, now: datetime) -> bool:
        g = role_grants.c
        exists = self.session.execute(
            select(g.person_id).where(
                and_(g.person_id == person_id, g.role == int(grant.role), g.scope == grant.scope)
            )
        ).first()
        if exists:
            return False
        self.session.execute(
            role_grants.insert().values(
                person_id=person_id,
                role=int(grant.role),
                scope=grant.scope,
                granted_by=actor,
                granted_at=now,
            )
        )
        return True

    def served_by(self, person_id: str, institution_ids: Sequence[str]) -> bool:
        if not institution_ids:
            return False
        c = served_persons.c
        found = self.session.execute(
            select(c.person_id)
            .where(c.person_id == person_id, c.institution_id.in_(list(institution_ids)))
            .limit(1)
        ).first()
        return found is not None

    def add_served(self, person_id: str, institution_id: str, now: datetime) -> bool:
        c = served_persons.c
        exists = self.session.execute(
            select(c.person_id).where(c.person_id == person_id, c.institution_id == institution_id)
        ).first()
        if exists:
            return False
        self.session.execute(
            served_persons.insert().values(
                person_id=person_id, institution_id=institution_id, first_served_at=now
            )
        )
        return True

    def remove_grant(self, person_id: str, grant: Grant) -> bool:
        g = role_grants.c
        result = self.session.execute(
            delete(role_grants).where(
                and_(g.person_id == person_id, g.role == int(grant.role), g.scope == grant.scope)
            )
        )
        return bool(getattr(result, "rowcount", 0))

    # -- organisations --------------------------------------------------------------------
    def add_organisation(self, organisation: Organisation) -> None:
        o = organisation
        self.session.execute(
            organisations.insert().values(
                organisation_id=o.organisation_id,
                credit_code=o.credit_code,
                name=o.name,
                type=int(o.type),
                region_code=o.region_code,
                home_node=o.home_node,
                created_at=o.created_at,
            )
        )

    def get_organisation(self, organisation_id: str) -> Organisation | None:
        row = self.session.execute(
            select(organisations).where(organisations.c.organisation_id == organisation_id)
        ).first()
        return _org(row) if row else None

    def organisation_by_code(self, credit_code: str) -> Organisation | None:
        row = self.session.execute(
            select(organisations).where(organisations.c.credit_code == credit_code)
        ).first()
        return _org(row) if row else None

    def list_organisations(
        self, query: OrganisationQuery, page: Page
    ) -> tuple[list[Organisation], int]:
        t = organisations
        conditions = []
        if query.type:
            conditions.append(t.c.type == query.type)
        if query.region_code:
            code = query.region_code
            prefix = (
                code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code
            )
            conditions.append(t.c.region_code.like(prefix + "%"))
        count_q = select(func.count()).select_from(t)
        rows_q = select(t).order_by(t.c.name, t.c.organisation_id).limit(page.size)
        if conditions:
            count_q = count_q.where(and_(*conditions))
            rows_q = rows_q.where(and_(*conditions))
        if page.after:
            name, _, oid = page.after.partition("\x00")
            rows_q = rows_q.where(tuple_(t.c.name, t.c.organisation_id) > tuple_(name, oid))
        total = self.session.execute(count_q).scalar_one()
        return [_org(r) for r in self.session.execute(rows_q)], total

    def membership(self, person_id: str, organisation_id: str) -> Membership | None:
        m = memberships.c
        row = self.session.execute(
            select(m.role).where(
                and_(m.person_id == person_id, m.organisation_id == organisation_id)
            )
        ).first()
        return Membership(person_id, organisation_id, MembershipRole(row.role)) if row else None

    def put_membership(self, membership: Membership) -> None:
        if self.remove_membership(membership.person_id, membership.organisation_id):
            pass
        self.session.execute(
            memberships.insert().values(
                person_id=membership.person_id,
                organisation_id=membership.organisation_id,
                role=int(membership.role),
            )
        )

    def remove_membership(self, person_id: str, organisation_id: str) -> bool:
        m = memberships.c
        result = self.session.execute(
            delete(memberships).where(
                and_(m.person_id == person_id, m.organisation_id == organisation_id)
            )
        )
        return bool(getattr(result, "rowcount", 0))

    # -- signing keys ---------------------------------------------------------------------
    def signing_keys(self) -> list[SigningKey]:
        rows = self.session.execute(select(signing_keys).order_by(signing_keys.c.created_at))
        return [
            SigningKey(
                kid=r.kid,
                public_jwk=json.loads(r.public_jwk),
                sealed_private_key=r.private_key_sealed,
                status=KeyStatus(r.status),
                created_at=utc_or_none(r.created_at) or datetime.now(UTC),
                retired_at=utc_or_none(r.status_changed_at)
                if r.status == KeyStatus.RETIRED
                else None,
            )
            for r in rows
        ]

    def add_signing_key(self, key: SigningKey) -> None:
        self.session.execute(
            signing_keys.insert().values(
                kid=key.kid,
                public_jwk=json.dumps(key.public_jwk, sort_keys=True),
                private_key_sealed=key.sealed_private_key,
                status=str(key.status),
                created_at=key.created_at,
            )
        )

    def set_key_status(self, kid: str, status: KeyStatus, now: datetime) -> None:
        self.session.execute(
            update(signing_keys)
            .where(signing_keys.c.kid == kid)
            .values(status=str(status), status_changed_at=now)
        )

    # -- refresh tokens -------------------------------------------------------------------
    def add_family(self, family: RefreshFamily) -> None:
        self.session.execute(refresh_families.insert().values(**family.__dict__))

    def family(self, family_id: str) -> RefreshFamily | None:
        q = select(refresh_families).where(refresh_families.c.family_id == family_id)
        if self.dialect != "sqlite":
            q = q.with_for_update()
        row = self.session.execute(q).first()
        return _family(row) if row else None

    def save_family(self, family: RefreshFamily) -> None:
        values = {k: v for k, v in family.__dict__.items() if k != "family_id"}
        self.session.execute(
            update(refresh_families)
            .where(refresh_families.c.family_id == family.family_id)
            .values(**values)
        )

    def add_refresh(self, record: RefreshRecord) -> None:
        self.session.execute(refresh_tokens.insert().values(**record.__dict__))

    def refresh_for_update(self, token_hash: str) -> RefreshRecord | None:
        q = select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash)
        if self.dialect != "sqlite":
            q = q.with_for_update()
        row = self.session.execute(q).first()
        if row is None:
            return None
        return RefreshRecord(
            row.token_hash,
            row.family_id,
            utc_or_none(row.created_at) or datetime.now(UTC),
            utc_or_none(row.used_at),
        )

    def mark_refresh_used(self, token_hash: str, now: datetime) -> None:
        self.session.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.token_hash == token_hash)
            .values(used_at=now)
        )

    # -- service accounts -----------------------------------------------------------------
    def add_service_account(self, account: ServiceAccount) -> None:
        self.session.execute(
            service_accounts.insert().values(
                client_id=account.client_id,
                secret_hash=account.secret_hash,
                node=account.node,
                scopes=" ".join(account.scopes),
                created_at=account.created_at,
            )
        )

    def service_account(self, client_id: str) -> ServiceAccount | None:
        row = self.session.execute(
            select(service_accounts).where(service_accounts.c.client_id == client_id)
        ).first()
        if row is None:
            return None
        return ServiceAccount(
            row.client_id,
            row.secret_hash,
            row.node,
            tuple(row.scopes.split()),
            utc_or_none(row.created_at) or datetime.now(UTC),
        )


def sort_key(organisation: Organisation) -> str:
    return f"{organisation.name}\x00{organisation.organisation_id}"


_CURRENT: ContextVar[Session | None] = ContextVar("identity_unit_of_work", default=None)


def current_session() -> Session | None:
    """The session of the unit of work this thread is inside, if any (adapters called by
    the domain mid-transaction, e.g. the revocation log, write in it rather than beside it)."""
    return _CURRENT.get()


class SqlUnitOfWork:
    """The domain's UnitOfWork: one database transaction, a repository and the outbox sink.

    A unique-constraint race (two registrations with the same e-mail) surfaces as
    ALREADY_EXISTS rather than INTERNAL.
    """

    def __init__(self, db: Database, sink_factory: Any) -> None:
        self.db = db
        self.sink_factory = sink_factory

    @contextmanager
    def __call__(self) -> Iterator[tuple[Repository, EventSink]]:
        try:
            with self.db.transaction() as session:
                token = _CURRENT.set(session)
                try:
                    yield SqlRepository(session), self.sink_factory(session)
                finally:
                    _CURRENT.reset(token)
        except IntegrityError as exc:
            raise AlreadyExists("a record with these unique values already exists") from exc

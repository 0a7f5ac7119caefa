import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AssuranceLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ASSURANCE_LEVEL_UNSPECIFIED: _ClassVar[AssuranceLevel]
    ASSURANCE_LEVEL_LOW: _ClassVar[AssuranceLevel]
    ASSURANCE_LEVEL_SUBSTANTIAL: _ClassVar[AssuranceLevel]
    ASSURANCE_LEVEL_HIGH: _ClassVar[AssuranceLevel]

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_INNOVATOR: _ClassVar[Role]
    ROLE_INSTITUTION_STAFF: _ClassVar[Role]
    ROLE_PROVINCE_ADMIN: _ClassVar[Role]
    ROLE_NATIONAL_ADMIN: _ClassVar[Role]
    ROLE_NODE_SERVICE: _ClassVar[Role]

class OrganisationType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORGANISATION_TYPE_UNSPECIFIED: _ClassVar[OrganisationType]
    ORGANISATION_TYPE_ENTERPRISE: _ClassVar[OrganisationType]
    ORGANISATION_TYPE_UNIVERSITY: _ClassVar[OrganisationType]
    ORGANISATION_TYPE_RESEARCH_INSTITUTE: _ClassVar[OrganisationType]
    ORGANISATION_TYPE_SERVICE_INSTITUTION: _ClassVar[OrganisationType]
    ORGANISATION_TYPE_GOVERNMENT_OFFICE: _ClassVar[OrganisationType]

class MembershipRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEMBERSHIP_ROLE_UNSPECIFIED: _ClassVar[MembershipRole]
    MEMBERSHIP_ROLE_MEMBER: _ClassVar[MembershipRole]
    MEMBERSHIP_ROLE_ADMIN: _ClassVar[MembershipRole]
ASSURANCE_LEVEL_UNSPECIFIED: AssuranceLevel
ASSURANCE_LEVEL_LOW: AssuranceLevel
ASSURANCE_LEVEL_SUBSTANTIAL: AssuranceLevel
ASSURANCE_LEVEL_HIGH: AssuranceLevel
ROLE_UNSPECIFIED: Role
ROLE_INNOVATOR: Role
ROLE_INSTITUTION_STAFF: Role
ROLE_PROVINCE_ADMIN: Role
ROLE_NATIONAL_ADMIN: Role
ROLE_NODE_SERVICE: Role
ORGANISATION_TYPE_UNSPECIFIED: OrganisationType
ORGANISATION_TYPE_ENTERPRISE: OrganisationType
ORGANISATION_TYPE_UNIVERSITY: OrganisationType
ORGANISATION_TYPE_RESEARCH_INSTITUTE: OrganisationType
ORGANISATION_TYPE_SERVICE_INSTITUTION: OrganisationType
ORGANISATION_TYPE_GOVERNMENT_OFFICE: OrganisationType
MEMBERSHIP_ROLE_UNSPECIFIED: MembershipRole
MEMBERSHIP_ROLE_MEMBER: MembershipRole
MEMBERSHIP_ROLE_ADMIN: MembershipRole

class RoleGrant(_message.Message):
    __slots__ = ("role", "scope")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    role: Role
    scope: str
    def __init__(self, role: _Optional[_Union[Role, str]] = ..., scope: _Optional[str] = ...) -> None: ...

class Person(_message.Message):
    __slots__ = ("person_id", "home_node", "display_name", "email", "mobile", "id_number_masked", "assurance_level", "roles", "memberships", "created_at")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    HOME_NODE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    MOBILE_FIELD_NUMBER: _ClassVar[int]
    ID_NUMBER_MASKED_FIELD_NUMBER: _ClassVar[int]
    ASSURANCE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    MEMBERSHIPS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    home_node: str
    display_name: str
    email: str
    mobile: str
    id_number_masked: str
    assurance_level: AssuranceLevel
    roles: _containers.RepeatedCompositeFieldContainer[RoleGrant]
    memberships: _containers.RepeatedCompositeFieldContainer[Membership]
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, person_id: _Optional[str] = ..., home_node: _Optional[str] = ..., display_name: _Optional[str] = ..., email: _Optional[str] = ..., mobile: _Optional[str] = ..., id_number_masked: _Optional[str] = ..., assurance_level: _Optional[_Union[AssuranceLevel, str]] = ..., roles: _Optional[_Iterable[_Union[RoleGrant, _Mapping]]] = ..., memberships: _Optional[_Iterable[_Union[Membership, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Organisation(_message.Message):
    __slots__ = ("organisation_id", "credit_code", "name", "type", "region_code", "home_node", "created_at")
    ORGANISATION_ID_FIELD_NUMBER: _ClassVar[int]
    CREDIT_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    HOME_NODE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    organisation_id: str
    credit_code: str
    name: str
    type: OrganisationType
    region_code: str
    home_node: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, organisation_id: _Optional[str] = ..., credit_code: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[_Union[OrganisationType, str]] = ..., region_code: _Optional[str] = ..., home_node: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Membership(_message.Message):
    __slots__ = ("person_id", "organisation_id", "role")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANISATION_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    organisation_id: str
    role: MembershipRole
    def __init__(self, person_id: _Optional[str] = ..., organisation_id: _Optional[str] = ..., role: _Optional[_Union[MembershipRole, str]] = ...) -> None: ...

class RegisterPersonRequest(_message.Message):
    __slots__ = ("display_name", "email", "mobile", "password", "id_number")
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    MOBILE_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    ID_NUMBER_FIELD_NUMBER: _ClassVar[int]
    display_name: str
    email: str
    mobile: str
    password: str
    id_number: str
    def __init__(self, display_name: _Optional[str] = ..., email: _Optional[str] = ..., mobile: _Optional[str] = ..., password: _Optional[str] = ..., id_number: _Optional[str] = ...) -> None: ...

class RegisterPersonResponse(_message.Message):
    __slots__ = ("person",)
    PERSON_FIELD_NUMBER: _ClassVar[int]
    person: Person
    def __init__(self, person: _Optional[_Union[Person, _Mapping]] = ...) -> None: ...

class SignInRequest(_message.Message):
    __slots__ = ("login", "password", "audience")
    LOGIN_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    login: str
    password: str
    audience: str
    def __init__(self, login: _Optional[str] = ..., password: _Optional[str] = ..., audience: _Optional[str] = ...) -> None: ...

class SignInResponse(_message.Message):
    __slots__ = ("access_token", "token_type", "expires_in_seconds", "refresh_token", "person")
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOKEN_TYPE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    access_token: str
    token_type: str
    expires_in_seconds: int
    refresh_token: str
    person: Person
    def __init__(self, access_token: _Optional[str] = ..., token_type: _Optional[str] = ..., expires_in_seconds: _Optional[int] = ..., refresh_token: _Optional[str] = ..., person: _Optional[_Union[Person, _Mapping]] = ...) -> None: ...

class RefreshTokensRequest(_message.Message):
    __slots__ = ("refresh_token",)
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    refresh_token: str
    def __init__(self, refresh_token: _Optional[str] = ...) -> None: ...

class SignOutRequest(_message.Message):
    __slots__ = ("refresh_token",)
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    refresh_token: str
    def __init__(self, refresh_token: _Optional[str] = ...) -> None: ...

class SignOutResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class IssueServiceTokenRequest(_message.Message):
    __slots__ = ("client_id", "client_secret", "scopes", "audience")
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_SECRET_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    client_id: str
    client_secret: str
    scopes: _containers.RepeatedScalarFieldContainer[str]
    audience: str
    def __init__(self, client_id: _Optional[str] = ..., client_secret: _Optional[str] = ..., scopes: _Optional[_Iterable[str]] = ..., audience: _Optional[str] = ...) -> None: ...

class GetMeRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetPersonRequest(_message.Message):
    __slots__ = ("person_id",)
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    def __init__(self, person_id: _Optional[str] = ...) -> None: ...

class VerifyPersonRequest(_message.Message):
    __slots__ = ("person_id", "assurance_level", "method")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    ASSURANCE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    assurance_level: AssuranceLevel
    method: str
    def __init__(self, person_id: _Optional[str] = ..., assurance_level: _Optional[_Union[AssuranceLevel, str]] = ..., method: _Optional[str] = ...) -> None: ...

class CreateOrganisationRequest(_message.Message):
    __slots__ = ("credit_code", "name", "type", "region_code")
    CREDIT_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    credit_code: str
    name: str
    type: OrganisationType
    region_code: str
    def __init__(self, credit_code: _Optional[str] = ..., name: _Optional[str] = ..., type: _Optional[_Union[OrganisationType, str]] = ..., region_code: _Optional[str] = ...) -> None: ...

class GetOrganisationRequest(_message.Message):
    __slots__ = ("organisation_id",)
    ORGANISATION_ID_FIELD_NUMBER: _ClassVar[int]
    organisation_id: str
    def __init__(self, organisation_id: _Optional[str] = ...) -> None: ...

class ListOrganisationsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "type", "region_code")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REGION_CODE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    type: OrganisationType
    region_code: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., type: _Optional[_Union[OrganisationType, str]] = ..., region_code: _Optional[str] = ...) -> None: ...

class ListOrganisationsResponse(_message.Message):
    __slots__ = ("organisations", "next_page_token", "total_size")
    ORGANISATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    organisations: _containers.RepeatedCompositeFieldContainer[Organisation]
    next_page_token: str
    total_size: int
    def __init__(self, organisations: _Optional[_Iterable[_Union[Organisation, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class AddMembershipRequest(_message.Message):
    __slots__ = ("organisation_id", "person_id", "role")
    ORGANISATION_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    organisation_id: str
    person_id: str
    role: MembershipRole
    def __init__(self, organisation_id: _Optional[str] = ..., person_id: _Optional[str] = ..., role: _Optional[_Union[MembershipRole, str]] = ...) -> None: ...

class RemoveMembershipRequest(_message.Message):
    __slots__ = ("organisation_id", "person_id")
    ORGANISATION_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    organisation_id: str
    person_id: str
    def __init__(self, organisation_id: _Optional[str] = ..., person_id: _Optional[str] = ...) -> None: ...

class RemoveMembershipResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GrantRoleRequest(_message.Message):
    __slots__ = ("person_id", "grant")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    GRANT_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    grant: RoleGrant
    def __init__(self, person_id: _Optional[str] = ..., grant: _Optional[_Union[RoleGrant, _Mapping]] = ...) -> None: ...

class RevokeRoleRequest(_message.Message):
    __slots__ = ("person_id", "grant")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    GRANT_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    grant: RoleGrant
    def __init__(self, person_id: _Optional[str] = ..., grant: _Optional[_Union[RoleGrant, _Mapping]] = ...) -> None: ...

class GetJwksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetJwksResponse(_message.Message):
    __slots__ = ("jwks_json", "issuer")
    JWKS_JSON_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    jwks_json: str
    issuer: str
    def __init__(self, jwks_json: _Optional[str] = ..., issuer: _Optional[str] = ...) -> None: ...

class RevokeTokenRequest(_message.Message):
    __slots__ = ("jti",)
    JTI_FIELD_NUMBER: _ClassVar[int]
    jti: str
    def __init__(self, jti: _Optional[str] = ...) -> None: ...

class RevokeTokenResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

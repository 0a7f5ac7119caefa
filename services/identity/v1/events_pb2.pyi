from puhui.identity.v1 import identity_pb2 as _identity_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SignInResult(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIGN_IN_RESULT_UNSPECIFIED: _ClassVar[SignInResult]
    SIGN_IN_RESULT_SUCCESS: _ClassVar[SignInResult]
    SIGN_IN_RESULT_BAD_CREDENTIALS: _ClassVar[SignInResult]
    SIGN_IN_RESULT_THROTTLED: _ClassVar[SignInResult]
    SIGN_IN_RESULT_LOCKED: _ClassVar[SignInResult]
SIGN_IN_RESULT_UNSPECIFIED: SignInResult
SIGN_IN_RESULT_SUCCESS: SignInResult
SIGN_IN_RESULT_BAD_CREDENTIALS: SignInResult
SIGN_IN_RESULT_THROTTLED: SignInResult
SIGN_IN_RESULT_LOCKED: SignInResult

class PersonRegistered(_message.Message):
    __slots__ = ("person_id", "home_node", "assurance_level")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    HOME_NODE_FIELD_NUMBER: _ClassVar[int]
    ASSURANCE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    home_node: str
    assurance_level: _identity_pb2.AssuranceLevel
    def __init__(self, person_id: _Optional[str] = ..., home_node: _Optional[str] = ..., assurance_level: _Optional[_Union[_identity_pb2.AssuranceLevel, str]] = ...) -> None: ...

class SignInAttempted(_message.Message):
    __slots__ = ("person_id", "result", "client_network")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_NETWORK_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    result: SignInResult
    client_network: str
    def __init__(self, person_id: _Optional[str] = ..., result: _Optional[_Union[SignInResult, str]] = ..., client_network: _Optional[str] = ...) -> None: ...

class RoleChanged(_message.Message):
    __slots__ = ("person_id", "grant", "granted", "actor")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    GRANT_FIELD_NUMBER: _ClassVar[int]
    GRANTED_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    grant: _identity_pb2.RoleGrant
    granted: bool
    actor: str
    def __init__(self, person_id: _Optional[str] = ..., grant: _Optional[_Union[_identity_pb2.RoleGrant, _Mapping]] = ..., granted: _Optional[bool] = ..., actor: _Optional[str] = ...) -> None: ...

class MembershipChanged(_message.Message):
    __slots__ = ("person_id", "organisation_id", "role", "added", "actor")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANISATION_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ADDED_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    organisation_id: str
    role: _identity_pb2.MembershipRole
    added: bool
    actor: str
    def __init__(self, person_id: _Optional[str] = ..., organisation_id: _Optional[str] = ..., role: _Optional[_Union[_identity_pb2.MembershipRole, str]] = ..., added: _Optional[bool] = ..., actor: _Optional[str] = ...) -> None: ...

class KeySetChanged(_message.Message):
    __slots__ = ("issuer", "jwks_json", "change", "kid")
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    JWKS_JSON_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    KID_FIELD_NUMBER: _ClassVar[int]
    issuer: str
    jwks_json: str
    change: str
    kid: str
    def __init__(self, issuer: _Optional[str] = ..., jwks_json: _Optional[str] = ..., change: _Optional[str] = ..., kid: _Optional[str] = ...) -> None: ...

class PersonVerified(_message.Message):
    __slots__ = ("person_id", "assurance_level", "method", "actor")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    ASSURANCE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    assurance_level: _identity_pb2.AssuranceLevel
    method: str
    actor: str
    def __init__(self, person_id: _Optional[str] = ..., assurance_level: _Optional[_Union[_identity_pb2.AssuranceLevel, str]] = ..., method: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

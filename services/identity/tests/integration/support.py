"""Helpers of the identity integration tests."""

from __future__ import annotations

import base64
import uuid

from puhui.identity.v1 import identity_pb2

NODE = "440000"
PASSWORD = "Correct-Horse-9"
ID_KEY = base64.b64encode(b"integration-test-id-number-key!!").decode()
KEK = base64.b64encode(b"integration-test-signing-kek-32b").decode()


def unique_email() -> str:
    return f"it-{uuid.uuid4().hex[:12]}@example.cn"


def register(stub, email: str | None = None, **kw) -> identity_pb2.Person:
    fields = {"display_name": "测试用户", "email": email or unique_email(), "password": PASSWORD}
    fields.update(kw)
    return stub.RegisterPerson(identity_pb2.RegisterPersonRequest(**fields), timeout=10).person


def sign_in(
    stub, login: str, password: str = PASSWORD, audience: str = ""
) -> identity_pb2.SignInResponse:
    return stub.SignIn(
        identity_pb2.SignInRequest(login=login, password=password, audience=audience), timeout=10
    )

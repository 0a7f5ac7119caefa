"""The in-memory fake repository against the shared repository contract."""

from __future__ import annotations

import pytest

from puhui.identity.tests.fakes import FakeUnitOfWork
from puhui.identity.tests.repository_contract import CHECKS


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_fake_repository(check):
    check(FakeUnitOfWork())

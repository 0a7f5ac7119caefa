"""Redis-backed throttle and revocation store against real Redis."""

from __future__ import annotations

import time
import uuid

import pytest

from puhui.identity.adapters.throttle import RedisThrottle
from puhui.identity.domain import ThrottlePolicy
from puhui.identity.tests.throttle_contract import CHECKS
from puhui.kit import redis as kit_redis
from puhui.kit import tokens as kt
from puhui.kit.testing import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
def client(redis_url):
    c = kit_redis.connect(redis_url)
    yield c
    c.close()


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_redis_throttle(check, client):
    check(lambda policy, clock: RedisThrottle(client, policy, clock))


def test_redis_throttle_keys_hold_no_login(client):
    throttle = RedisThrottle(client, ThrottlePolicy())
    login = f"{uuid.uuid4().hex[:10]}@example.cn"
    throttle.failed(login, "2001:db8::99")
    keys = [k.decode() for k in client.scan_iter(match="puhui:identity:signin:pair:*", count=1000)]
    assert keys
    assert not any(login in k for k in keys)


def test_revocation_snapshot_shared_between_processes(client):
    key = f"test:revoked:{uuid.uuid4()}"
    here = kt.RedisRevocationStore(client, key=key, refresh_seconds=0.2)
    there = kt.RedisRevocationStore(client, key=key, refresh_seconds=0.2)
    assert not there.is_revoked("jti-1")  # snapshot loaded (empty)
    here.revoke("jti-1", time.time() + 60)
    assert here.is_revoked("jti-1")  # at once where it was revoked
    eventually(lambda: there.is_revoked("jti-1"), 5, interval=0.05)  # elsewhere, soon
    here.revoke("jti-old", time.time() - 1)  # already expired: pruned, never reported
    assert not kt.RedisRevocationStore(client, key=key, refresh_seconds=0).is_revoked("jti-old")
    assert client.zscore(key, "jti-old") is None
    client.delete(key)

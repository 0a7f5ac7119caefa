"""Kafka ACLs of a federation node, for KRaft's StandardAuthorizer (docs/adr/0022).

Each node has its own principal, `User:puhui-node-<node>`: the CN of its node certificate
(mutual TLS; the broker maps `CN=…` to the CN) or its SCRAM-SHA-512 user name. A province
may write only its own topics (`puhui.[<federation>.]<node>.`), read its own and what it
consumes from the hub (the keys topic, the hub's data mirrors and revocations) and use its
own consumer groups. The hub also reads every topic of its namespace. Joining a node grants
these ACLs (`grant_node`); removing it deletes every ACL of its principal (`revoke_node`).
"""

from __future__ import annotations

from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
)

from puhui.kit import kafka
from puhui.kit.config import HUB_NODE_ID

NODE_PRINCIPAL_PREFIX = "puhui-node-"
OWN_TOPIC_OPERATIONS = (
    ACLOperation.WRITE,
    ACLOperation.READ,
    ACLOperation.DESCRIBE,
    ACLOperation.CREATE,
)
READ_OPERATIONS = (ACLOperation.READ, ACLOperation.DESCRIBE)


def principal(node: str) -> str:
    return f"User:{NODE_PRINCIPAL_PREFIX}{node}"


def _allow(
    who: str,
    kind: ResourceType,
    name: str,
    operation: ACLOperation,
    pattern: ACLResourcePatternType = ACLResourcePatternType.PREFIXED,
) -> ACL:
    return ACL(
        principal=who,
        host="*",
        operation=operation,
        permission_type=ACLPermissionType.ALLOW,
        resource_pattern=ResourcePattern(kind, name, pattern),
    )


def node_acls(node: str, *, federation_id: str | None = None, keys_topic: str = "") -> list[ACL]:
    """The ACLs `node` needs, in the namespace `federation_id` (None: this process's)."""
    who = principal(node)
    topic = ResourceType.TOPIC
    acls = [
        _allow(who, topic, kafka.topic_prefix(node, federation_id=federation_id), op)
        for op in OWN_TOPIC_OPERATIONS
    ]
    for group in (f"puhui-{node}-", f"puhui.{node}."):
        name = kafka.group_name(group, federation_id=federation_id)
        acls += [_allow(who, ResourceType.GROUP, name, op) for op in READ_OPERATIONS]
    if node == HUB_NODE_ID:
        everything = kafka.namespace_prefix(federation_id=federation_id)
        acls += [_allow(who, topic, everything, op) for op in READ_OPERATIONS]
        return acls
    literal = ACLResourcePatternType.LITERAL
    hub = kafka.topic_prefix(HUB_NODE_ID, federation_id=federation_id)
    hub_topics = [
        (f"{hub}data.", ACLResourcePatternType.PREFIXED),  # the data mirrors
        (f"{hub}identity.revocations", literal),
        (keys_topic or f"{hub}federation.keys", literal),
    ]
    for name, kind in hub_topics:
        acls += [_allow(who, topic, name, op, kind) for op in READ_OPERATIONS]
    return acls


def grant_node(
    bootstrap: str,
    node: str,
    *,
    security: kafka.KafkaSecurity | None = None,
    federation_id: str | None = None,
    keys_topic: str = "",
) -> int:
    """Create `node`'s ACLs (idempotent: the broker keeps one copy); returns their number."""
    acls = node_acls(node, federation_id=federation_id, keys_topic=keys_topic)
    admin = kafka.make_admin(bootstrap, "puhui-acl-admin", security=security)
    try:
        result = admin.create_acls(acls)
    finally:
        admin.close()
    failed = result.get("failed") or []
    if failed:
        raise RuntimeError(f"creating Kafka ACLs for node {node} failed: {failed[0]}")
    return len(acls)


def revoke_node(bootstrap: str, node: str, *, security: kafka.KafkaSecurity | None = None) -> int:
    """Delete every ACL of `node`'s principal; returns how many were deleted."""
    everything = ACLFilter(
        principal=principal(node),
        host="*",
        operation=ACLOperation.ANY,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )
    admin = kafka.make_admin(bootstrap, "puhui-acl-admin", security=security)
    try:
        results = admin.delete_acls([everything])
    finally:
        admin.close()
    deleted = 0
    for _filter, matched, error in results:
        if error is not None and getattr(error, "errno", None):
            raise RuntimeError(f"deleting Kafka ACLs of node {node} failed: {error}")
        deleted += len(matched)
    return deleted

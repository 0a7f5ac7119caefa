"""Consumer-group positioning for the hub's read models."""

from __future__ import annotations

import re

from puhui.kit import kafka


def start_groups_at_end(bootstrap: str, group: str, pattern: str) -> int:
    """Commit `group`'s offsets at the end of every existing topic matching `pattern`, so a
    new consumer in that group reads only what is produced from now on. Returns the number of
    partitions positioned."""
    from kafka import KafkaConsumer
    from kafka.structs import OffsetAndMetadata, TopicPartition

    consumer = KafkaConsumer(
        **kafka.client_settings(),
        bootstrap_servers=kafka.servers(bootstrap),
        group_id=kafka.group_name(group),
        enable_auto_commit=False,
    )
    try:
        regex = re.compile(pattern)
        tps = [
            TopicPartition(topic, p)
            for topic in consumer.topics()
            if regex.match(topic)
            for p in (consumer.partitions_for_topic(topic) or ())
        ]
        if not tps:
            return 0
        ends = consumer.end_offsets(tps)
        consumer.assign(tps)
        consumer.commit({tp: OffsetAndMetadata(off, "", -1) for tp, off in ends.items()})
        return len(tps)
    finally:
        consumer.close(autocommit=False)

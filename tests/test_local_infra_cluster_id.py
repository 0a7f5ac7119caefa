"""The local infrastructure script's KRaft cluster ids are ones the storage tool accepts."""

from __future__ import annotations

import base64

from puhui.kit.testing import load_infra


def test_cluster_ids_are_16_byte_base64url_and_never_start_with_a_dash() -> None:
    # One base64url id in 64 starts with "-", which kafka-storage's parser reads as an option
    # (CI once failed `format` on exactly that); the script draws again, as Kafka's Uuid does.
    infra = load_infra()
    ids = {infra.new_cluster_id() for _ in range(5000)}
    assert len(ids) == 5000
    for cluster_id in ids:
        assert len(cluster_id) == 22
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16

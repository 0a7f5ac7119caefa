"""Export streams hold a gRPC worker each until they end, so at most PUHUI_DATA_EXPORT_STREAMS
are open at once; one more is refused at once (RESOURCE_EXHAUSTED, retry later)."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from puhui.data import domain
from puhui.data.config import DataConfig
from puhui.data.errors import TooManyExports
from puhui.data.servicer import DataServicer
from puhui.kit.config import ConfigError, load


def test_default_is_half_the_workers_and_always_leaves_one():
    assert load(DataConfig, {}).grpc_workers == 4
    assert load(DataConfig, {}).export_stream_limit == 2
    assert load(DataConfig, {"PUHUI_GRPC_WORKERS": "3"}).export_stream_limit == 1
    assert load(DataConfig, {"PUHUI_DATA_EXPORT_STREAMS": "3"}).export_stream_limit == 3
    load(DataConfig, {"PUHUI_DATA_EXPORT_STREAMS": "3"}).validate()
    for bad in ({"PUHUI_DATA_EXPORT_STREAMS": "4"}, {"PUHUI_DATA_EXPORT_STREAMS": "-1"}):
        with pytest.raises(ConfigError, match="PUHUI_DATA_EXPORT_STREAMS"):
            load(DataConfig, bad).validate()
    with pytest.raises(ConfigError, match="at least 2"):
        load(DataConfig, {"PUHUI_GRPC_WORKERS": "1"}).validate()


def sample(name: str) -> float:
    return REGISTRY.get_sample_value(name, {"node": "000000"}) or 0.0


def servicer(limit: int) -> DataServicer:
    return DataServicer(domain.DataSets("000000"), None, export_streams=limit)  # type: ignore[arg-type]


def test_one_stream_more_than_the_limit_is_refused_and_counted():
    s = servicer(2)
    refused = sample("puhui_data_export_streams_refused_total")
    with s._export_stream(), s._export_stream():
        assert sample("puhui_data_export_streams_open") == 2
        with (
            pytest.raises(TooManyExports, match="2 export streams open") as err,
            s._export_stream(),
        ):
            pass
        assert err.value.retry_after_seconds > 0
        assert err.value.reason == "EXPORT_STREAMS_EXHAUSTED"
    assert sample("puhui_data_export_streams_refused_total") == refused + 1
    assert sample("puhui_data_export_streams_open") == 0


def test_a_stream_that_fails_gives_its_place_back():
    s = servicer(1)
    with pytest.raises(RuntimeError), s._export_stream():
        raise RuntimeError("the client went away")
    with s._export_stream():  # the place came back
        pass


def test_zero_means_no_limit():
    s = servicer(0)
    with s._export_stream(), s._export_stream(), s._export_stream():
        assert sample("puhui_data_export_streams_open") == 3

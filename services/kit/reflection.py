"""Server reflection that serves our protos with their comments.

The generated `_pb2` modules carry descriptors without source info, and reflection copies
descriptors out of a pool (`CopyToProto`), which drops source info anyway; so `grpcurl
describe` showed no comment. `make proto` also writes `api_descriptors.binpb` (every proto
with its imports and source info). Reflection here looks symbols up in the default pool, as
before, but answers with the FileDescriptorProto bytes of that set when it holds the file.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from importlib import resources
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection

DESCRIPTORS = "api_descriptors.binpb"


@functools.cache
def source_files() -> dict[str, bytes]:
    """File name → serialized FileDescriptorProto with source info (read once, on first use)."""
    raw = resources.files("puhui.kit").joinpath(DESCRIPTORS).read_bytes()
    return {
        f.name: f.SerializeToString() for f in descriptor_pb2.FileDescriptorSet.FromString(raw).file
    }


class _SourceFile:
    """A file descriptor whose CopyToProto restores the comments from the descriptor set."""

    def __init__(self, file: Any) -> None:
        self._file = file
        self.name: str = file.name

    @property
    def dependencies(self) -> list[_SourceFile]:
        return [_SourceFile(d) for d in self._file.dependencies]

    def CopyToProto(self, proto: descriptor_pb2.FileDescriptorProto) -> None:
        with_source = source_files().get(self.name)
        if with_source is None:
            self._file.CopyToProto(proto)
        else:
            proto.MergeFromString(with_source)


class _SourcePool:
    """The default pool for look-ups; files come back as `_SourceFile`."""

    def __init__(self, pool: descriptor_pool.DescriptorPool) -> None:
        self._pool = pool

    def FindFileByName(self, name: str) -> _SourceFile:
        return _SourceFile(self._pool.FindFileByName(name))

    def FindFileContainingSymbol(self, symbol: str) -> _SourceFile:
        return _SourceFile(self._pool.FindFileContainingSymbol(symbol))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


def enable(service_names: Sequence[str], server: grpc.Server) -> None:
    """Reflection for `service_names` (they include reflection's own name), with comments."""
    reflection.enable_server_reflection(
        service_names, server, pool=_SourcePool(descriptor_pool.Default())
    )

"""Reference data shipped with Puhui: divisions (GB/T 2260), IPC, Nice and CNIPA similar
groups, ST.3 office codes.

Everything is read from package resources (``data/``, provenance in ``data/SOURCES.md``) on
first use and cached; importing this package does no I/O.

>>> from puhui.refdata import divisions, ipc, nice
>>> divisions.get("440300").name
'深圳市'
>>> ipc.normalise("G06F0016300000")
'G06F 16/30'
>>> nice.group("0901").name
'电子计算机及其外部设备'
"""

from . import divisions, ipc, nice, offices

__all__ = ["divisions", "ipc", "nice", "offices"]

"""The caller's language for human texts: the `accept-language` gRPC metadata (an HTTP
Accept-Language value, e.g. "en-GB,en;q=0.9"), Chinese unless English is preferred.

    lang = language.preferred(context.invocation_metadata())   # "zh-CN" or "en"
"""

from __future__ import annotations

from collections.abc import Iterable

ZH, EN = "zh-CN", "en"
SUPPORTED = (ZH, EN)
DEFAULT = ZH


def parse(header: str) -> str:
    """The supported language the header prefers most (q-values honoured; ties keep the
    header's order); DEFAULT when it names none of them."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        chosen = ZH if tag.startswith("zh") else EN if tag.startswith("en") else ""
        if chosen and quality > 0:
            ranked.append((-quality, position, chosen))
    return min(ranked)[2] if ranked else DEFAULT


def preferred(metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
    for key, value in metadata or ():
        if key == "accept-language":
            return parse(value if isinstance(value, str) else value.decode("latin-1"))
    return DEFAULT

"""The caller's language from the `accept-language` metadata: Chinese unless English is
preferred."""

from __future__ import annotations

import pytest

from puhui.kit import language

CASES = [
    (None, "zh-CN"),
    ([], "zh-CN"),
    ([("accept-language", "en")], "en"),
    ([("accept-language", "en-GB,en;q=0.9")], "en"),
    ([("accept-language", "zh-CN,zh;q=0.9,en;q=0.8")], "zh-CN"),
    ([("accept-language", "fr-FR, en;q=0.5, zh;q=0.7")], "zh-CN"),
    ([("accept-language", "fr-FR, en;q=0.8, zh;q=0.7")], "en"),
    ([("accept-language", "de")], "zh-CN"),
    ([("accept-language", "en;q=0")], "zh-CN"),
    ([("accept-language", "en;q=abc, zh-TW")], "zh-CN"),
    ([("authorization", "Bearer x"), ("accept-language", b"en-US")], "en"),
]


@pytest.mark.parametrize(("metadata", "expected"), CASES)
def test_preferred(metadata, expected):
    assert language.preferred(metadata) == expected

"""GB 11643 resident ID numbers, GB 32100-2015 credit codes, logins and the password policy."""

from __future__ import annotations

from datetime import date

import pytest

from puhui.identity import validation as v


@pytest.mark.parametrize(
    "number",
    ["11010519491231002X", "11010519491231002x", "440301199001011234", " 440524198001010013 "],
)
def test_valid_resident_id_numbers(number):
    assert v.is_valid_id_number(number)


@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("110105194912310021", "wrong check digit"),
        ("440301199001011235", "wrong check digit"),
        ("44030119900101123", "17 characters"),
        ("4403011990010112345", "19 characters"),
        ("44030119901301123X", "month 13"),
        ("440301189902301234", "30 February"),
        ("4403012990010112X4", "X not last"),
        ("440524188001010014", "born before 1900"),
    ],
)
def test_invalid_resident_id_numbers(number, why):
    assert not v.is_valid_id_number(number), why


def test_future_birth_date_is_refused():
    number = "44030120300101" + "123"
    number += v.id_number_check_char(number)
    assert not v.is_valid_id_number(number, today=date(2026, 1, 1))


def test_mask_shows_first_and_last_four_only():
    assert v.mask_id_number("440301199001011234") == "4403**********1234"
    assert v.mask_id_number("11010519491231002x") == "1101**********002X"


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91350100m000100y43"])
def test_valid_credit_codes(code):
    assert v.is_valid_credit_code(code)


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y44",  # wrong check character
        "91350100M000100Y4",  # 17 characters
        "91350100M000100I43",  # I is not in the GB 32100 character set
        "91350100O000100Y43",  # nor O
        "",
    ],
)
def test_invalid_credit_codes(code):
    assert not v.is_valid_credit_code(code)


def test_credit_code_check_character_is_computed_over_31_characters():
    body = "91440300MA5F0000"
    for extra in v.USCC_CHARSET:
        check = v.credit_code_check_char(body + extra)
        assert v.is_valid_credit_code(body + extra + check)
        others = [c for c in v.USCC_CHARSET if c != check]
        assert not v.is_valid_credit_code(body + extra + others[0])


def test_logins_are_normalised():
    assert v.normalise_login(" Zhang.San@Example.CN ") == "zhang.san@example.cn"
    assert v.normalise_login("+86 138-0013-8000") == "13800138000"
    assert v.is_valid_mobile("13800138000")
    assert not v.is_valid_mobile("12800138000")
    assert v.is_valid_email("a.b@example.com.cn")
    assert not v.is_valid_email("a@b")


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("Short1!", False),
        ("alllowercaseletters", True),  # 16+ characters: a passphrase
        ("lowercase12", False),  # only 2 classes and under 16
        ("Lowercase12", True),
        ("password1234", False),  # common
        ("aaaaaaaaaaaaaaaaaaaa", False),  # one character repeated
        ("x" * 129, False),
    ],
)
def test_password_policy(password, ok):
    assert (v.password_problems(password) == []) is ok


def test_password_must_not_contain_the_login():
    assert v.password_problems("Zhangsan-2024!", ("zhangsan@example.cn", "")) != []
    assert v.password_problems("Xx-13800138000", ("", "13800138000")) != []

"""Checks of Chinese identifiers and sign-in names (pure functions, no I/O).

- Resident identity number, GB 11643-1999: 6-digit division code, 8-digit birth date,
  3-digit sequence, check character over ISO 7064 MOD 11-2 (weights 2^(17-i) mod 11;
  check = (12 - sum mod 11) mod 11, 10 written "X").
- Unified social credit code, GB 32100-2015: 18 characters from the 31-character set
  0-9 A-H J-N P-R T U W-Y (no I O S V Z); position 18 is the check character:
  weights 3^(i) mod 31, check = 31 - (sum mod 31), 31 → 0.
"""

from __future__ import annotations

import re
from datetime import date

ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
ID_CHECK = "10X98765432"
ID_RE = re.compile(r"^\d{17}[\dX]$")

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_RE = re.compile(r"^[0-9A-HJ-NP-RTUW-Y]{18}$")

EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def normalise_id_number(value: str) -> str:
    return value.strip().upper()


def id_number_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def is_valid_id_number(value: str, *, today: date | None = None) -> bool:
    """GB 11643: format, a real birth date not in the future, and the check character."""
    v = normalise_id_number(value)
    if not ID_RE.match(v):
        return False
    try:
        born = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return False
    if born.year < 1900 or born > (today or date.today()):
        return False
    return id_number_check_char(v[:17]) == v[17]


def mask_id_number(value: str) -> str:
    """ "440301199001011234" → "4403**********1234" (first 4 and last 4 characters)."""
    v = normalise_id_number(value)
    return v[:4] + "*" * (len(v) - 8) + v[-4:]


def normalise_credit_code(value: str) -> str:
    return value.strip().upper()


def credit_code_check_char(first17: str) -> str:
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def is_valid_credit_code(value: str) -> bool:
    """GB 32100-2015: character set and check character."""
    v = normalise_credit_code(value)
    if not USCC_RE.match(v):
        return False
    return credit_code_check_char(v[:17]) == v[17]


def normalise_email(value: str) -> str:
    return value.strip().lower()


def is_valid_email(value: str) -> bool:
    return len(value) <= 254 and bool(EMAIL_RE.match(value))


def normalise_mobile(value: str) -> str:
    """Mainland mobile number: drop spaces, dashes and a +86 / 0086 prefix."""
    v = re.sub(r"[\s-]", "", value)
    for prefix in ("+86", "0086"):
        if v.startswith(prefix):
            v = v[len(prefix) :]
    return v


def is_valid_mobile(value: str) -> bool:
    return bool(MOBILE_RE.match(value))


def normalise_login(value: str) -> str:
    """A sign-in name as stored: lower-case e-mail or bare mobile number."""
    v = value.strip()
    return normalise_email(v) if "@" in v else normalise_mobile(v)


# -- password policy --------------------------------------------------------------------------
MIN_PASSWORD = 10
PASSPHRASE_LENGTH = 16
MAX_PASSWORD = 128
COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "12345678910",
        "123456789a",
        "a123456789",
        "qwertyuiop",
        "1qaz2wsx3edc",
        "password123",
        "password1234",
        "passw0rd123",
        "iloveyou123",
        "woaini1314520",
        "abc1234567",
        "abcd123456",
        "qwer123456",
        "aa123456789",
        "admin12345",
        "admin@123456",
        "p@ssw0rd123",
        "zxcvbnm123",
    }
)


def password_problems(password: str, logins: tuple[str, ...] = ()) -> list[str]:
    """Why a new password is refused (empty: acceptable).

    Policy: 10..128 characters; either at least 3 of 4 character classes (lower, upper,
    digit, other) or a passphrase of 16+ characters; not a known common password; does not
    contain the e-mail local part or mobile number; not one character repeated.
    """
    problems: list[str] = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"at least {MIN_PASSWORD} characters")
        return problems
    if len(password) > MAX_PASSWORD:
        problems.append(f"at most {MAX_PASSWORD} characters")
        return problems
    classes = sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if classes < 3 and len(password) < PASSPHRASE_LENGTH:
        problems.append(
            f"mix at least 3 of lower case, upper case, digits and symbols, "
            f"or use {PASSPHRASE_LENGTH}+ characters"
        )
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(password)) <= 2:
        problems.append("is too common or too simple")
    for login in logins:
        part = login.split("@", 1)[0].lower()
        if len(part) >= 4 and part in lowered:
            problems.append("must not contain the e-mail name or mobile number")
            break
    return problems

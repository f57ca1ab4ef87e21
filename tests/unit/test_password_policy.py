"""Strong passwords are enforced (spec 3.1): length, character classes and the common-password list."""

from __future__ import annotations

import pytest
from agents_meetings.errors import Unprocessable
from agents_meetings.identity import passwords

pytestmark = pytest.mark.unit

STRONG = "Correct-Horse-Battery-7"


def test_a_password_meeting_every_rule_has_no_problems() -> None:
    assert passwords.check_password_strength(STRONG) == []
    assert passwords.check_password_strength("Aa1!" * 3) == []  # exactly 12 characters


@pytest.mark.parametrize(
    ("password", "problems"),
    [
        ("Aa1!aa1!aa1", ["at least 12 characters"]),  # 11 characters
        ("correct-horse-battery-7", ["an upper-case letter"]),
        ("CORRECT-HORSE-BATTERY-7", ["a lower-case letter"]),
        ("Correct-Horse-Battery-X", ["a digit"]),
        ("CorrectHorseBattery7", ["a symbol"]),
        ("Correct Horse Battery 7", ["a symbol"]),  # a space is not a symbol
        ("Aa1!" * 64 + "x", ["at most 256 characters"]),
    ],
)
def test_strong_passwords_are_enforced_rule_by_rule(password: str, problems: list[str]) -> None:
    assert passwords.check_password_strength(password) == problems


def test_every_unmet_rule_is_listed_at_once() -> None:
    assert passwords.check_password_strength("short") == [
        "at least 12 characters",
        "an upper-case letter",
        "a digit",
        "a symbol",
    ]
    assert "not a commonly used password" in passwords.check_password_strength("password")


def test_the_common_password_list_is_real_and_large() -> None:
    common = passwords.common_passwords()
    assert len(common) >= 10_000
    assert {"123456", "password", "qwerty", "letmein", "iloveyou"} <= common
    assert all(word == word.lower() and word == word.strip() and word for word in list(common)[:1000])


def test_common_passwords_are_refused_case_insensitively_even_when_otherwise_strong() -> None:
    # Long common passwords exist in the list; with the character classes added by casing and
    # symbols they would pass every other rule: the list check catches the listed ones.
    listed = next(w for w in passwords.common_passwords() if len(w) >= 12 and w.isalpha())
    assert passwords.is_common_password(listed.upper())
    assert passwords.is_common_password(listed.capitalize())
    assert not passwords.is_common_password(STRONG)
    assert "not a commonly used password" in passwords.check_password_strength(listed.capitalize())


def test_the_list_is_loaded_once_per_container() -> None:
    assert passwords.common_passwords() is passwords.common_passwords()


def test_require_strong_password_raises_a_422_listing_every_problem() -> None:
    with pytest.raises(Unprocessable) as caught:
        passwords.require_strong_password("password")
    error = caught.value
    assert (error.status_code, error.code) == (422, "weak_password")
    assert error.details["problems"] == passwords.check_password_strength("password")
    passwords.require_strong_password(STRONG)  # no exception


@pytest.mark.parametrize(
    "variant",
    [
        "Password123!",  # the example: capitalised, digits and a symbol appended
        "PASSWORD2024!!",
        "!!Password2024",  # prepended
        "2024#Password!",
        "P@ssw0rd123!",  # leetspeak: @ -> a, 0 -> o
        "P4$$w0rd-2024",  # 4 -> a, $ -> s
        "Sunsh1ne2024!",  # 1 -> i
        "Footba11-2024",  # 1 -> l, kept apart from the appended digits
        "L3tm31n!2024",  # 3 -> e, 1 -> i
        "Qwerty123456!",
        "Bu77erfly-1990!",  # 7 -> t
    ],
)
def test_the_usual_variants_of_a_listed_password_are_refused(variant: str) -> None:
    assert passwords.is_common_password(variant), variant
    assert "not a commonly used password" in passwords.check_password_strength(variant)


@pytest.mark.parametrize(
    "password", [STRONG, "Aa1!" * 3, "N3w-Secret-2027!", "Brand-New-Secret-2027!", "Zebra$Quantum42-Lamp"]
)
def test_passwords_that_merely_contain_digits_and_symbols_are_not_refused_as_common(password: str) -> None:
    assert not passwords.is_common_password(password)


def test_the_variant_check_looks_up_a_bounded_number_of_forms_however_long_the_password() -> None:
    # Each form is one set lookup: the cost does not grow with the length of the affixes.
    for password in ("1" * 256, "!" * 100 + "a" + "9" * 155, "Aa1!" * 64):
        assert len(passwords.common_password_candidates(password)) <= 3 * (2 * passwords._AFFIX_STEPS + 2) ** 2 + 1

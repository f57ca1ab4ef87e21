"""Pure domain rules: meeting languages and tags, IANA timezones, account roles and statuses."""

from __future__ import annotations

import pytest
from agents_meetings.errors import Unprocessable
from agents_meetings.identity.service import normalise_email
from agents_meetings.meetings.service import (
    MAX_LANGUAGES,
    MAX_TAGS,
    MeetingStatus,
    MeetingType,
    ParticipantStatus,
    normalise_languages,
    normalise_tags,
)
from agents_meetings.users.service import AccountStatus, Role, active_key, validate_timezone

pytestmark = pytest.mark.unit


def test_the_domain_vocabulary_is_the_issues() -> None:
    assert {r.value for r in Role} == {"admin", "teacher", "host", "participant"}
    assert {s.value for s in AccountStatus} == {"pending", "approved", "rejected"}
    assert {t.value for t in MeetingType} == {"regular", "classroom"}
    assert {s.value for s in MeetingStatus} == {"scheduled", "active", "ended", "cancelled"}
    assert {s.value for s in ParticipantStatus} == {"invited", "joined", "left"}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["en"], ["en"]),
        ([" en ", "es"], ["en", "es"]),
        (["en", "es", "en"], ["en", "es"]),
        (["pt-BR", "fil"], ["pt-BR", "fil"]),
    ],
)
def test_languages_are_trimmed_and_deduplicated_in_order(given: list[str], expected: list[str]) -> None:
    assert normalise_languages(given) == expected


@pytest.mark.parametrize("bad", ["EN", "english", "e", "en-us", "en_US", "pt-BRA", "12", "en-"])
def test_a_language_that_is_not_an_iso_code_is_refused(bad: str) -> None:
    with pytest.raises(Unprocessable) as raised:
        normalise_languages(["en", bad])
    assert raised.value.status_code == 422
    assert raised.value.code == "invalid_language"
    assert raised.value.details == {"invalid": [bad]}


def test_a_meeting_needs_a_language() -> None:
    with pytest.raises(Unprocessable) as raised:
        normalise_languages([])
    assert raised.value.code == "invalid_language"


def test_at_most_ten_languages() -> None:
    codes = ["en", "es", "fr", "de", "it", "pt", "nl", "sv", "da", "fi", "pl"]
    assert len(normalise_languages(codes[:MAX_LANGUAGES])) == MAX_LANGUAGES
    with pytest.raises(Unprocessable) as raised:
        normalise_languages(codes[: MAX_LANGUAGES + 1])
    assert raised.value.code == "too_many_languages"


def test_tags_are_lowercased_trimmed_deduplicated_and_blanks_dropped() -> None:
    assert normalise_tags([" Math ", "math", "MATH", "", "   ", "Algebra"]) == ["math", "algebra"]


def test_at_most_twenty_tags_after_deduplication() -> None:
    assert len(normalise_tags([f"t{i}" for i in range(MAX_TAGS)] + ["T0", "t1 "])) == MAX_TAGS
    with pytest.raises(Unprocessable) as raised:
        normalise_tags([f"t{i}" for i in range(MAX_TAGS + 1)])
    assert raised.value.code == "too_many_tags"
    assert raised.value.status_code == 422


@pytest.mark.parametrize("name", ["UTC", "Europe/Paris", "America/Argentina/Buenos_Aires", "Asia/Kolkata"])
def test_an_iana_timezone_is_accepted(name: str) -> None:
    assert validate_timezone(name) == name


@pytest.mark.parametrize(
    "name", ["", "Mars/Olympus", "utc", "Europe", " UTC", "../etc/passwd", "/etc/localtime", "a/" * 50, "x" * 5000]
)
def test_anything_else_is_an_invalid_timezone(name: str) -> None:
    with pytest.raises(Unprocessable) as raised:
        validate_timezone(name)
    assert raised.value.status_code == 422
    assert raised.value.code == "invalid_timezone"


def test_emails_compare_case_insensitively_and_without_surrounding_space() -> None:
    assert normalise_email("  Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"


def test_the_active_index_key_spells_the_flag() -> None:
    assert (active_key(True), active_key(False)) == ("active", "inactive")

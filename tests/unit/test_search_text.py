"""What the user types becomes words and phrases, never query syntax; typo distance; highlighting."""

from __future__ import annotations

import pytest
from agents_meetings.search.backend import MAX_WORDS, fuzziness, parse_user_text
from agents_meetings.search.embedded import stem
from agents_meetings.search.highlight import highlight, within_distance

pytestmark = pytest.mark.unit


def test_quoted_runs_are_phrases_and_the_rest_words() -> None:
    parsed = parse_user_text('Algebra "quadratic   Equations" roots "x"')
    assert parsed.words == ("algebra", "roots", "x")
    assert parsed.phrases == (("quadratic", "equations"),)


@pytest.mark.parametrize("text", ['"', "title:(a OR b", "AND NOT", "*", "a~2^3", "[1 TO 5]", "\\", "", None])
def test_operators_and_stray_syntax_are_dropped_not_interpreted(text: str | None) -> None:
    parsed = parse_user_text(text)
    assert all(word.isalnum() or "_" in word for word in parsed.all_words)
    assert all(word == word.lower() for word in parsed.all_words)


def test_query_length_is_bounded() -> None:
    parsed = parse_user_text(" ".join(f"w{i}" for i in range(100)))
    assert len(parsed.all_words) == MAX_WORDS


@pytest.mark.parametrize(("word", "edits"), [("ab", 0), ("cat", 1), ("house", 1), ("recording", 2)])
def test_fuzziness_follows_opensearch_auto(word: str, edits: int) -> None:
    assert fuzziness(word) == edits


@pytest.mark.parametrize(
    ("a", "b", "limit", "expected"),
    [
        ("recodring", "recording", 1, True),  # one transposition
        ("recrding", "recording", 1, True),
        ("rcrding", "recording", 1, False),
        ("rcrding", "recording", 2, True),
        ("same", "same", 0, True),
        ("same", "sane", 0, False),
    ],
)
def test_damerau_levenshtein_within(a: str, b: str, limit: int, expected: bool) -> None:
    assert within_distance(a, b, limit) is expected


def test_highlight_marks_stems_and_typos_and_escapes_html() -> None:
    text = "Recordings of <b>the</b> lesson are recorded daily."
    marked = highlight(text, parse_user_text("recording"), stem)
    assert marked == "<mark>Recordings</mark> of &lt;b&gt;the&lt;/b&gt; lesson are <mark>recorded</mark> daily."
    typo = highlight(text, parse_user_text("recodrings"), stem)
    assert typo == "<mark>Recordings</mark> of &lt;b&gt;the&lt;/b&gt; lesson are recorded daily."
    assert highlight(text, parse_user_text("zebra"), stem) is None


def test_long_text_gives_a_fragment_around_the_first_match() -> None:
    text = "filler " * 100 + "the photosynthesis happens here " + "filler " * 100
    fragment = highlight(text, parse_user_text("photosynthesis"), stem, fragment_chars=80)
    assert fragment is not None and "<mark>photosynthesis</mark>" in fragment
    assert fragment.startswith("…") and fragment.endswith("…") and len(fragment) < 120

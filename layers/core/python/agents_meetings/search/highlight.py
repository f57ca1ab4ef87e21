"""Marking the user's words in a field's text, as OpenSearch's highlighter does: exact, by stem or
within the word's fuzziness, with a fragment of context around the first match."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from functools import lru_cache

from agents_meetings.search.backend import HIGHLIGHT_POST, HIGHLIGHT_PRE, ParsedText, fuzziness

_TOKEN = re.compile(r"\w+", re.UNICODE)
FRAGMENT_CHARS = 160


def within_distance(a: str, b: str, limit: int) -> bool:
    """Damerau-Levenshtein (adjacent transpositions cost one) distance of a and b is at most limit."""
    if abs(len(a) - len(b)) > limit:
        return False
    if a == b:
        return True
    if limit == 0:
        return False
    previous_previous: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous_previous[j - 2] + 1)
        if min(current) > limit:
            return False
        previous_previous, previous = previous, current
    return previous[-1] <= limit


@lru_cache(maxsize=65_536)
def token_matches(token: str, words: tuple[str, ...], stem: Callable[[str], str]) -> bool:
    """Whether a text token is one of the user's words: exactly, by stem or within its fuzziness."""
    lowered = token.lower()
    for word in words:
        if lowered == word or stem(lowered) == stem(word) or within_distance(lowered, word, fuzziness(word)):
            return True
    return False


def highlight(
    text: str, parsed: ParsedText, stem: Callable[[str], str], *, fragment_chars: int = FRAGMENT_CHARS
) -> str | None:
    """The text (or a fragment around the first match when long), HTML-escaped, matches marked; None if none."""
    words = parsed.all_words
    spans = [m.span() for m in _TOKEN.finditer(text) if token_matches(m.group(0), words, stem)]
    if not spans:
        return None
    start, end = 0, len(text)
    if len(text) > fragment_chars:
        first = spans[0][0]
        start = max(0, first - fragment_chars // 3)
        # Start on a word boundary.
        while start > 0 and text[start - 1].isalnum():
            start -= 1
        end = min(len(text), start + fragment_chars)
        while end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
            end += 1
    pieces: list[str] = []
    cursor = start
    for span_start, span_end in spans:
        if span_start < start or span_end > end:
            continue
        pieces.append(html.escape(text[cursor:span_start]))
        pieces.append(f"{HIGHLIGHT_PRE}{html.escape(text[span_start:span_end])}{HIGHLIGHT_POST}")
        cursor = span_end
    pieces.append(html.escape(text[cursor:end]))
    fragment = "".join(pieces)
    return ("…" if start > 0 else "") + fragment + ("…" if end < len(text) else "")

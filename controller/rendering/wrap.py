"""Break a paragraph of styled text into lines no wider than a zone, without Pillow.

The engine passes a ``Measure`` built from its fonts, so this module only decides where lines break:
greedy first-fit at ordinary spaces (U+0020), never at a no-break space, never inside a word except
by hyphenating a word wider than the whole line when the caller allows it. A word that cannot fit is
never cut silently: it stands alone on its line and the result says ``fits=False``, so the engine can
try a smaller font.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby
from operator import itemgetter

import pyphen

from . import deadline
from .model import Paragraph, Span, Style

Measure = Callable[[str, Style], int]

# A line must not start with these (French puts a no-break space before them), nor end with «.
_BINDS_PREVIOUS = frozenset("»;:!?")
_BINDS_NEXT = "«"
_LETTERS = re.compile(r"[^\W\d_]+")
# The first beginning of an overlong word measured: about a line's worth on the narrowest panels.
_FIRST_PROBE = 16


@dataclass(frozen=True)
class WrappedLine:
    """One line of a wrapped paragraph; ``hyphenated`` when it ends inside a word."""

    spans: tuple[Span, ...]
    width: int
    hyphenated: bool


@dataclass(frozen=True)
class WrapResult:
    lines: tuple[WrappedLine, ...]
    fits: bool  # False when a word is wider than max_width and could not be hyphenated to fit


Chars = tuple[tuple[str, Style], ...]  # one entry per character: a word keeps its inner style changes


def wrap(paragraph: Paragraph, max_width: int, measure: Measure, *, hyphenate: bool = False) -> WrapResult:
    """Fill lines greedily; an empty paragraph is one empty line (the author typed a blank line)."""
    words, gaps = _words(paragraph)
    if not words:
        return WrapResult((WrappedLine((), 0, False),), True)
    wrapper = _Wrapper(max_width, measure)
    for index, word in enumerate(words):
        deadline.check()
        wrapper.place(word, gaps[index - 1] if index else (), hyphenate)
    return wrapper.result()


def _words(paragraph: Paragraph) -> tuple[list[Chars], list[Chars]]:
    """Words between runs of ordinary spaces, and the runs between them (with their styles).

    Leading and trailing spaces are dropped. A space after « or before » ; : ! ? is not a break,
    even when the text did not go through ``french_spacing``: it joins its two words into one.
    """
    chars = [(char, span.style) for span in paragraph.spans for char in span.text]
    words: list[list[tuple[str, Style]]] = []
    gaps: list[list[tuple[str, Style]]] = []
    pending_gap: list[tuple[str, Style]] = []
    for char, style in chars:
        if char == " ":
            if words:
                pending_gap.append((char, style))
            continue
        if not words:
            words.append([])
        elif pending_gap:
            if words[-1][-1][0] == _BINDS_NEXT or char in _BINDS_PREVIOUS:
                words[-1] += pending_gap
            else:
                gaps.append(pending_gap)
                words.append([])
            pending_gap = []
        words[-1].append((char, style))
    return [tuple(word) for word in words], [tuple(gap) for gap in gaps]


def _spans(chars: Sequence[tuple[str, Style]]) -> tuple[Span, ...]:
    """Characters back into spans, one per run of equal style."""
    return tuple(
        Span("".join(char for char, _ in run), style) for style, run in groupby(chars, key=itemgetter(1))
    )


class _Wrapper:
    """The lines made so far and the one being filled."""

    def __init__(self, max_width: int, measure: Measure) -> None:
        self.max_width = max_width
        self.measure = measure
        self.lines: list[WrappedLine] = []
        self.current: Chars = ()
        self.fits = True

    def width(self, chars: Chars) -> int:
        return sum(self.measure(span.text, span.style) for span in _spans(chars))

    def fit(self, chars: Chars) -> bool:
        return self.width(chars) <= self.max_width

    def line(self, chars: Chars, hyphenated: bool) -> WrappedLine:
        return WrappedLine(_spans(chars), self.width(chars), hyphenated)

    def flush(self) -> None:
        if self.current:
            self.lines.append(self.line(self.current, False))
            self.current = ()

    def place(self, word: Chars, gap: Chars, hyphenate: bool) -> None:
        if self.current and self.fit(self.current + gap + word):
            self.current += gap + word
            return
        if self.fit(word):
            self.flush()
            self.current = word
            return
        pieces = self.split(word, gap) if hyphenate else None
        if pieces is None:
            self.flush()
            self.lines.append(self.line(word, False))
            self.fits = False
            return
        self.lines += pieces[0]
        self.current = pieces[1]

    def split(self, word: Chars, gap: Chars) -> tuple[list[WrappedLine], Chars] | None:
        """Hyphenate an overlong word: its first piece may end the current line, each next piece
        fills a line; the lines made and the tail left to fill, or None if some piece cannot fit."""
        points = _break_points("".join(char for char, _ in word))
        lines: list[WrappedLine] = []
        prefix = self.current + gap if self.current else ()
        start = 0
        while not self.fits_whole(prefix, word[start:]):
            deadline.check()
            head = self.head(prefix, word, start, points)
            if head is not None:
                lines.append(self.line(prefix + head[0], True))
                prefix, start = (), head[1]
            elif prefix:
                lines.append(self.line(self.current, False))  # no piece fits after the current line
                prefix = ()
            else:
                return None
        return lines, prefix + word[start:]

    def fits_whole(self, prefix: Chars, piece: Chars) -> bool:
        """Whether ``piece`` fits after ``prefix``, measuring ever longer beginnings of it first: a
        beginning too wide already answers, so the rest of a thousand-letter word is not measured
        again for each of its lines (widths grow with the text)."""
        length = _FIRST_PROBE
        while length < len(piece):
            if not self.fit(prefix + piece[:length]):
                return False
            length *= 2
        return self.fit(prefix + piece)

    def head(
        self, prefix: Chars, word: Chars, start: int, points: tuple[tuple[int, bool], ...]
    ) -> tuple[Chars, int] | None:
        """The longest piece of ``word`` from ``start`` that fits after ``prefix``, its hyphen
        included, and where the rest starts.

        Pieces widen with their break point, so the last one that fits is found by galloping from
        ``start`` then bisecting: a few measures of pieces about a line long, whatever the word's length.
        """
        first = bisect_right(points, start, key=itemgetter(0))

        def fits(index: int) -> bool:
            return self.fit(prefix + self.piece(word, start, points[index]))

        if first == len(points) or not fits(first):
            return None
        fitting, step = first, 1  # points[fitting] fits; find one that does not, doubling the step
        while fitting + step < len(points) and fits(fitting + step):
            fitting, step = fitting + step, step * 2
        failing = min(fitting + step, len(points))  # known not to fit, or past the last point
        while failing - fitting > 1:
            middle = (fitting + failing) // 2
            if fits(middle):
                fitting = middle
            else:
                failing = middle
        point = points[fitting]
        return self.piece(word, start, point), point[0]

    @staticmethod
    def piece(word: Chars, start: int, point: tuple[int, bool]) -> Chars:
        """``word`` from ``start`` to a break point, with the hyphen the point asks for."""
        end, add_hyphen = point
        return word[start:end] + ((("-", word[end - 1][1]),) if add_hyphen else ())

    def result(self) -> WrapResult:
        self.flush()
        return WrapResult(tuple(self.lines), self.fits)


@lru_cache(maxsize=1)
def _dictionary() -> pyphen.Pyphen:
    return pyphen.Pyphen(lang="fr_FR")


@lru_cache(maxsize=4096)
def _break_points(word: str) -> tuple[tuple[int, bool], ...]:
    """Where ``word`` may break, ascending, each with whether a hyphen must be added there: the
    French dictionary's points inside each run of letters, and after the word's own hyphens."""
    points = {
        run.start() + position: True
        for run in _LETTERS.finditer(word)
        for position in _dictionary().positions(run.group())
    }
    points.update({index + 1: False for index, char in enumerate(word[:-1]) if char == "-" and index})
    return tuple(sorted(points.items()))

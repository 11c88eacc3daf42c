"""Line wrapping with fake measures: where lines break, their exact content and width."""

from __future__ import annotations

from controller.rendering.model import PLAIN, Paragraph, Span, Style
from controller.rendering.typography import NBSP, french_spacing
from controller.rendering.wrap import WrappedLine, WrapResult, wrap

BOLD = Style(bold=True)
RED = Style(colour="red")


def mono(text: str, style: Style) -> int:
    """6 px a character, 7 in bold."""
    return len(text) * (7 if style.bold else 6)


_NARROW = frozenset("iljt.,;:!' \u00a0")
_WIDE = frozenset("mwMW")


def proportional(text: str, style: Style) -> int:
    """Narrow letters 3 px, wide ones 9, others 6; bold adds 1 px a character."""
    return sum(3 if c in _NARROW else 9 if c in _WIDE else 6 for c in text) + (len(text) if style.bold else 0)


def para(*spans: Span | str) -> Paragraph:
    return Paragraph(tuple(Span(s) if isinstance(s, str) else s for s in spans))


def texts(result: WrapResult) -> list[str]:
    return ["".join(span.text for span in line.spans) for line in result.lines]


def test_greedy_filling_with_exact_lines_and_widths() -> None:
    result = wrap(para("Fête de Noël place Bernard samedi soir"), 60, mono)
    assert texts(result) == ["Fête de", "Noël place", "Bernard", "samedi", "soir"]
    assert [line.width for line in result.lines] == [42, 60, 42, 36, 24]
    assert result.fits
    assert not any(line.hyphenated for line in result.lines)


def test_a_line_exactly_max_width_fits() -> None:
    assert texts(wrap(para("abcd efgh"), 54, mono)) == ["abcd efgh"]
    assert texts(wrap(para("abcd efgh"), 53, mono)) == ["abcd", "efgh"]


def test_spaces_at_line_ends_are_dropped_and_not_counted() -> None:
    result = wrap(para("   un   deux   "), 30, mono)
    assert texts(result) == ["un", "deux"]
    assert [line.width for line in result.lines] == [12, 24]
    # Inside a line the author's spaces stay as typed.
    assert texts(wrap(para("un   deux"), 100, mono)) == ["un   deux"]


def test_empty_paragraph_is_one_blank_line() -> None:
    blank = WrapResult((WrappedLine((), 0, False),), True)
    assert wrap(Paragraph(()), 60, mono) == blank
    assert wrap(para("    "), 60, mono) == blank


def test_never_breaks_at_a_no_break_space() -> None:
    text = french_spacing("Vin chaud à 2 € « place Bernard » ! Venez")
    result = wrap(para(text), 66, mono)
    assert texts(result) == ["Vin chaud à", f"2{NBSP}€ «{NBSP}place", f"Bernard{NBSP}»{NBSP}!", "Venez"]
    for width in range(30, 200):
        for line in texts(wrap(para(text), width, mono)):
            assert not line.startswith(("»", "!", "€", NBSP))
            assert not line.endswith(("«", NBSP))


def test_guillemets_and_marks_stay_with_their_word_without_typography() -> None:
    result = wrap(para("il dit « bonjour » puis part !"), 66, mono)
    assert texts(result) == ["il dit", "« bonjour »", "puis part !"]
    # At 60 px "« bonjour »" (66 px) overflows rather than break after «.
    narrow = wrap(para("il dit « bonjour » puis part !"), 60, mono)
    assert texts(narrow) == ["il dit", "« bonjour »", "puis", "part !"]
    assert not narrow.fits


def test_overlong_word_without_hyphenation_stands_alone() -> None:
    result = wrap(para("Vive anticonstitutionnellement la République"), 60, mono)
    assert texts(result) == ["Vive", "anticonstitutionnellement", "la", "République"]
    assert result.lines[1].width == 150
    assert not result.fits


def test_hyphenation_with_the_french_dictionary() -> None:
    result = wrap(para("Vive anticonstitutionnellement la République"), 60, mono, hyphenate=True)
    assert texts(result) == ["Vive anti-", "constitu-", "tionnelle-", "ment la", "République"]
    assert [line.hyphenated for line in result.lines] == [True, True, True, False, False]
    assert [line.width for line in result.lines] == [60, 54, 60, 42, 60]
    assert result.fits


def test_hyphenation_only_for_words_wider_than_the_line() -> None:
    # "République" fits on a line of its own: it moves there whole.
    result = wrap(para("Vive la République"), 60, mono, hyphenate=True)
    assert texts(result) == ["Vive la", "République"]


def test_existing_hyphens_are_break_points_when_hyphenating() -> None:
    result = wrap(para("à Saint-Denis-lès-Bourg demain"), 60, mono, hyphenate=True)
    assert texts(result) == ["à Saint-", "Denis-lès-", "Bourg", "demain"]
    assert [line.hyphenated for line in result.lines] == [True, True, False, False]
    # Without hyphenation the compound is one word.
    assert texts(wrap(para("à Saint-Denis-lès-Bourg demain"), 60, mono)) == [
        "à",
        "Saint-Denis-lès-Bourg",
        "demain",
    ]


def test_unhyphenatable_word_is_never_cut() -> None:
    result = wrap(para("zz xxxxxxxxxxxxxxxxxxx yy"), 42, mono, hyphenate=True)
    assert texts(result) == ["zz", "xxxxxxxxxxxxxxxxxxx", "yy"]
    assert not result.fits
    # A syllable wider than the line: the word is kept whole rather than partly hyphenated.
    result = wrap(para("anticonstitutionnellement"), 20, mono, hyphenate=True)
    assert texts(result) == ["anticonstitutionnellement"]
    assert not result.fits


def test_hyphenation_keeps_punctuation_and_styles() -> None:
    word = para(Span("anticonsti", BOLD), Span("tutionnellement", RED), Span(NBSP + "!"))
    result = wrap(word, 70, mono, hyphenate=True)
    assert texts(result) == ["anticons-", "titution-", "nellement\u00a0!"]
    assert result.lines[0].spans == (Span("anticons-", BOLD),)
    assert result.lines[1].spans == (Span("ti", BOLD), Span("tution-", RED))
    assert result.lines[2].spans == (Span("nellement", RED), Span(NBSP + "!"))
    assert [line.width for line in result.lines] == [63, 56, 66]


def test_style_boundaries_inside_a_word_are_not_breaks() -> None:
    result = wrap(para(Span("ab", BOLD), "cd ef"), 30, mono)
    assert texts(result) == ["abcd", "ef"]
    assert result.lines[0].spans == (Span("ab", BOLD), Span("cd"))
    assert result.lines[0].width == 26


def test_spans_merge_across_a_line() -> None:
    paragraph = para("un ", "deux", Span(" trois", BOLD), Span(" quatre", BOLD), " cinq")
    result = wrap(paragraph, 1000, mono)
    assert result.lines[0].spans == (Span("un deux"), Span(" trois quatre", BOLD), Span(" cinq"))
    assert result.lines[0].width == 7 * 6 + 13 * 7 + 5 * 6


def test_breaking_drops_the_styled_space() -> None:
    result = wrap(para(Span("aaaa", RED), Span(" ", BOLD), Span("bbbb", RED)), 30, mono)
    assert [line.spans for line in result.lines] == [(Span("aaaa", RED),), (Span("bbbb", RED),)]


def test_proportional_measure() -> None:
    result = wrap(para("Il fait mauvais ce mimi matin"), 50, proportional)
    assert texts(result) == ["Il fait", "mauvais", "ce mimi", "matin"]
    assert [line.width for line in result.lines] == [30, 42, 39, 27]
    # Widths are measured span by span, as the engine draws them.
    bold = wrap(para(Span("Il", BOLD), " fait"), 100, proportional)
    assert bold.lines[0].width == proportional("Il", BOLD) + proportional(" fait", PLAIN)


def test_zero_width_does_not_loop() -> None:
    result = wrap(para("un deux"), 0, mono, hyphenate=True)
    assert texts(result) == ["un", "deux"]
    assert not result.fits


def test_deterministic() -> None:
    paragraph = para(Span("Fête de ", RED), Span("l'anticonstitutionnalité", BOLD), " « ici » !")
    results = {wrap(paragraph, width, proportional, hyphenate=True) for width in (40, 40, 40)}
    assert len(results) == 1


def test_a_thousand_letter_word_is_hyphenated_in_linear_work() -> None:
    """Each line's piece is found by measuring a few pieces about a line long, never the whole rest
    of the word again: a 1,000-letter word measured 4.4 million characters (18 s on a 96x16 panel)."""
    measured: list[int] = []

    def counting(text: str, style: Style) -> int:
        measured.append(len(text))
        return mono(text, style)

    for length in (1000, 4000):
        word = ("anticonstitutionnellement" * 160)[:length]
        measured.clear()
        result = wrap(para(word), 96, counting, hyphenate=True)
        assert result.fits
        assert all(line.width <= 96 for line in result.lines)
        assert "".join(text.removesuffix("-") for text in texts(result)) == word
        assert sum(measured) <= 16 * length

"""Markup parsing: plain text, the relais markup and NTCIP 1203 MULTI, with their errors."""

from __future__ import annotations

import pytest

from controller.rendering.markup import MARKUP_SYNTAXES, MarkupError, parse
from controller.rendering.model import PLAIN, Block, Document, Paragraph, Span, Style
from controller.rendering.typography import NBSP

BOLD = Style(bold=True)
RED = Style(colour="red")
FLASH = Style(flashing=True)


def p(*spans: Span | str, align: str | None = None) -> Paragraph:
    return Paragraph(tuple(Span(s) if isinstance(s, str) else s for s in spans), align)  # type: ignore[arg-type]


def doc(*blocks: Block) -> Document:
    return Document(tuple(blocks))


def block(*paragraphs: Paragraph, valign: str | None = None, dwell_s: float | None = None) -> Block:
    return Block(tuple(paragraphs), valign, dwell_s)  # type: ignore[arg-type]


def error(text: str, syntax: str = "relais") -> MarkupError:
    with pytest.raises(MarkupError) as caught:
        parse(text, syntax)
    return caught.value


def test_syntaxes() -> None:
    assert MARKUP_SYNTAXES == ("plain", "relais", "multi")
    with pytest.raises(ValueError, match="syntaxe inconnue"):
        parse("x", "html")


# --- plain ------------------------------------------------------------------------------------


def test_plain_lines_are_paragraphs_and_markup_is_text() -> None:
    assert parse("Fête {b}de{/b}\r\nNoël [nl]", "plain") == doc(block(p("Fête {b}de{/b}"), p("Noël [nl]")))


def test_plain_blank_lines_collapse_and_ends_are_trimmed() -> None:
    text = "\n\n  Samedi  \n\n\n   \nDimanche\n\n"
    assert parse(text, "plain") == doc(block(p("Samedi"), p(), p("Dimanche")))


def test_plain_gets_french_typography_and_nfc() -> None:
    assert parse("«Cafe\u0301»!", "plain").plain_text == f"«{NBSP}Café{NBSP}»{NBSP}!"


# --- relais -----------------------------------------------------------------------------------


def test_relais_line_breaks() -> None:
    assert parse("un\ndeux{br}trois\r\nquatre") == doc(block(p("un"), p("deux"), p("trois"), p("quatre")))
    assert parse("un{br}{br}deux") == doc(block(p("un"), p(), p("deux")))


def test_relais_page_breaks() -> None:
    expected = doc(block(p("ACCIDENT")), block(p("VERGLAS")))
    assert parse("ACCIDENT{page}VERGLAS") == expected
    # {page} alone on its line takes its newlines with it.
    assert parse("ACCIDENT\n{page}\nVERGLAS") == expected
    assert parse("ACCIDENT\n  {page}  \nVERGLAS") == expected
    # Pages with nothing to see are dropped.
    assert parse("{page}ACCIDENT{page}{page}VERGLAS{page}") == expected


def test_relais_styles() -> None:
    assert parse("a {b}gras{/b} b") == doc(block(p("a ", Span("gras", BOLD), " b")))
    assert parse("{clignote}Alerte{/clignote}") == doc(block(p(Span("Alerte", FLASH))))


@pytest.mark.parametrize(
    ("name", "colour"),
    [
        ("rouge", "red"),
        ("ambre", "amber"),
        ("jaune", "yellow"),
        ("vert", "green"),
        ("bleu", "blue"),
        ("blanc", "white"),
        ("noir", "black"),
        ("orange", "orange"),
        ("#FF8800", "#ff8800"),
        ("Rouge", "red"),
    ],
)
def test_relais_colours(name: str, colour: str) -> None:
    assert parse(f"{{couleur:{name}}}x{{/couleur}}") == doc(block(p(Span("x", Style(colour=colour)))))


def test_relais_nesting_and_styles_across_lines() -> None:
    text = "{couleur:rouge}a{b}b{clignote}c{/clignote}d\ne{/b}f{/couleur}g"
    assert parse(text) == doc(
        block(
            p(Span("a", RED), Span("b", Style(bold=True, colour="red")), Span("c", Style(True, "red", True)),
              Span("d", Style(bold=True, colour="red"))),
            p(Span("e", Style(bold=True, colour="red")), Span("f", RED), Span("g")),
        )
    )  # fmt: skip
    inner = "{couleur:rouge}a{couleur:vert}b{/couleur}c{/couleur}"
    assert parse(inner) == doc(block(p(Span("a", RED), Span("b", Style(colour="green")), Span("c", RED))))


def test_relais_alignment_at_the_start_of_a_line() -> None:
    text = "{centre}Titre\n  {gauche}un\n{b}{droite}deux{/b}\ntrois"
    assert parse(text) == doc(
        block(
            p("Titre", align="center"),
            p("un", align="left"),
            p(Span("deux", BOLD), align="right"),
            p("trois"),
        )
    )


def test_relais_literal_braces() -> None:
    assert parse("{{b}} et }}{{").plain_text == "{b} et }{"


def test_relais_tags_are_case_insensitive() -> None:
    assert parse("{B}x{/b}{Couleur:ROUGE}y{/COULEUR}") == doc(block(p(Span("x", BOLD), Span("y", RED))))


def test_relais_typography_across_styles() -> None:
    document = parse("{b}Bonjour{/b}! «{couleur:rouge}ici{/couleur}» l'été")
    assert document.blocks[0].paragraphs[0].spans == (
        Span("Bonjour" + NBSP, BOLD),  # an added space takes the style before it
        Span(f"! «{NBSP}"),
        Span("ici" + NBSP, RED),
        Span("» l\u2019été"),
    )


@pytest.mark.parametrize(
    ("text", "position", "tag", "message"),
    [
        ("Bonjour {xx3} ici", 8, "{xx3}", "balise inconnue « {xx3} » à la position 8"),
        ("ab {b:x}c{/b}", 3, "{b:x}", "balise inconnue « {b:x} » à la position 3"),
        (
            "abc {b}x",
            4,
            "{b}",
            "balise « {b} » ouverte à la position 4 et jamais fermée (il manque « {/b} »)",
        ),
        ("a{b}{clignote}x{/clignote}", 1, "{b}", "ouverte à la position 1 et jamais fermée"),
        ("x{/b}", 1, "{/b}", "« {/b} » à la position 1 ne ferme aucune balise"),
        ("{b}x{/couleur}", 4, "{/couleur}", "ne ferme pas « {b} », ouverte à la position 0"),
        ("{b}{clignote}x{/b}{/clignote}", 14, "{/b}", "ne ferme pas « {clignote} »"),
        ("Titre {centre}", 6, "{centre}", "doit être au début d’une ligne"),
        ("{couleur:violet}x{/couleur}", 0, "{couleur:violet}", "couleur inconnue « violet »"),
        ("{couleur:#12345}x{/couleur}", 0, "{couleur:#12345}", "couleur inconnue"),
        ("{couleur}x{/couleur}", 0, "{couleur}", "balise inconnue"),
        ("a { b", 2, "{", "accolade « { » sans « } » à la position 2"),
        ("a {b\n}", 2, "{", "sans « } »"),
        ("a } b", 2, "}", "accolade « } » isolée à la position 2"),
    ],
)
def test_relais_errors(text: str, position: int, tag: str, message: str) -> None:
    caught = error(text)
    assert (caught.position, caught.tag) == (position, tag)
    assert message in str(caught)


@pytest.mark.parametrize(("text", "syntax"), [("", "relais"), (" \n ", "plain"), ("{b}{/b}{br}{page}", "relais"),
                                              ("[nl][np][cf1]", "multi")])  # fmt: skip
def test_empty_text(text: str, syntax: str) -> None:
    caught = error(text, syntax)
    assert (str(caught), caught.position, caught.tag) == ("le texte est vide", 0, None)


# --- MULTI ------------------------------------------------------------------------------------


def test_multi_traffic_sign() -> None:
    text = "[jp3][jl3]ACCIDENT[nl]A 40[nl]RALENTIR[np][pt30o0]VERGLAS[nl]PRUDENCE"
    assert parse(text, "multi") == doc(
        block(p("ACCIDENT", align="center"), p("A 40", align="center"), p("RALENTIR", align="center"),
              valign="middle"),
        block(p("VERGLAS", align="center"), p("PRUDENCE", align="center"), valign="middle", dwell_s=3.0),
    )  # fmt: skip


def test_multi_line_and_page_breaks() -> None:
    assert parse("A[nl]B[nl2]C[np]D", "multi") == doc(block(p("A"), p("B"), p("C")), block(p("D")))
    # Leading [nl] place text lower on the sign: they are kept.
    assert parse("[nl]A", "multi") == doc(block(p(), p("A")))
    # A pasted newline is a space: MULTI breaks lines with [nl] only.
    assert parse("A\nB", "multi") == doc(block(p("A B")))


@pytest.mark.parametrize(("tag", "align"), [("2", "left"), ("3", "center"), ("4", "right"), ("5", "justify"),
                                            ("", None)])  # fmt: skip
def test_multi_line_justification(tag: str, align: str | None) -> None:
    assert parse(f"[jl4]A[nl][jl{tag}]B", "multi").blocks[0].paragraphs[1].align == align


def test_multi_line_justification_lasts_until_changed() -> None:
    document = parse("A[jl3]B[nl]C[np]D[nl][jl4]E[jl2]F[nl]G", "multi")
    aligns = [[paragraph.align for paragraph in b.paragraphs] for b in document.blocks]
    # Mid-line, [jl3] applies from the next line on; at the start of a line, to that line.
    assert aligns == [[None, "center"], ["center", "right", "left"]]


@pytest.mark.parametrize(("tag", "valign"), [("2", "top"), ("3", "middle"), ("4", "bottom"), ("", None)])
def test_multi_page_justification(tag: str, valign: str | None) -> None:
    document = parse(f"[jp4]A[np][jp{tag}]B[np]C", "multi")
    assert [b.valign for b in document.blocks] == ["bottom", valign, valign]


def test_multi_page_time() -> None:
    document = parse("A[np][pt25o5]B[np]C[np][pt]D[np][pt0]E[np][pt7]F", "multi")
    assert [b.dwell_s for b in document.blocks] == [None, 2.5, 2.5, None, None, 0.7]


def test_multi_fonts() -> None:
    document = parse("[fo1]a[fo2]b[fo3,1234]c[fo]d", "multi")
    assert document.blocks[0].paragraphs[0].spans == (Span("a"), Span("bc", BOLD), Span("d"))


@pytest.mark.parametrize(
    ("tag", "colour"),
    [("0", "black"), ("1", "red"), ("2", "yellow"), ("3", "green"), ("4", "blue"), ("5", "blue"),
     ("6", "red"), ("7", "white"), ("8", "orange"), ("9", "amber"), ("255,136,0", "#ff8800"),
     ("0,0,0", "#000000")],
)  # fmt: skip
def test_multi_colours(tag: str, colour: str) -> None:
    spans = parse(f"[cf{tag}]x[cf]y", "multi").blocks[0].paragraphs[0].spans
    assert spans == (Span("x", Style(colour=colour)), Span("y"))


# NTCIP 1203: [fltXoY] or [floYtX], on time X and off time Y in tenths of a second, each optional.
@pytest.mark.parametrize("tag", ["[fl]", "[flt5o5]", "[flo5t5]", "[flt3o]", "[flto7]", "[flto]", "[flot]",
                                 "[flt99o0]", "[FLT5O5]", "[flo12t4]"])  # fmt: skip
def test_multi_flashing(tag: str) -> None:
    spans = parse(f"a{tag}b[/fl]c", "multi").blocks[0].paragraphs[0].spans
    assert spans == (Span("a"), Span("b", FLASH), Span("c"))


def test_multi_flashing_runs_join() -> None:
    spans = parse("[flt5o5]d[/fl][flo2t8]e[/fl]", "multi").blocks[0].paragraphs[0].spans
    assert spans == (Span("de", FLASH),)


# A [nl] that ends a page opens no line: nothing shrinks, nothing moves.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A[nl]", doc(block(p("A")))),
        ("A[nl][nl]", doc(block(p("A")))),
        ("A[nl]  ", doc(block(p("A")))),
        ("A[nl]B[nl][np]C[nl]", doc(block(p("A"), p("B")), block(p("C")))),
        ("A[nl][nl3][np][nl]C", doc(block(p("A")), block(p(), p("C")))),
        ("A[nl][nl]B", doc(block(p("A"), p(), p("B")))),
        ("[jp4]A[nl][pt20]", doc(block(p("A"), valign="bottom", dwell_s=2.0))),
    ],
)
def test_multi_trailing_new_lines_add_no_line(text: str, expected: Document) -> None:
    assert parse(text, "multi") == expected


def test_multi_trailing_new_line_changes_no_render() -> None:
    assert parse("ACCIDENT[nl]A 40[nl]", "multi") == parse("ACCIDENT[nl]A 40", "multi")


def test_multi_state_across_lines() -> None:
    document = parse("[cf1][fo2][fl]A[nl]B[/fl][np]C", "multi")
    both = Style(bold=True, colour="red", flashing=True)
    assert document == doc(
        block(p(Span("A", both)), p(Span("B", both))), block(p(Span("C", Style(True, "red"))))
    )


def test_multi_case_literals_and_ignored_tags() -> None:
    assert parse("[NL]x", "multi") == doc(block(p(), p("x")))
    assert parse("[[1]] [CF1]x[Cf]", "multi") == doc(block(p("[1] ", Span("x", RED))))
    assert parse("[sc2]A B[/sc]", "multi") == doc(block(p("A B")))


# The standard's ranges: page times 0–255 tenths, flash times 0–99 tenths, character spacing 0–99
# pixels, line spacing one digit.
@pytest.mark.parametrize(
    ("text", "dwell_s"),
    [("[pt255o255]A", 25.5), ("[pt0o0]A", None), ("[pto]A", None), ("[pt50o]A", 5.0), ("[pto10]A", None),
     ("[sc0]A[/sc]", None), ("[sc99]A", None), ("A[nl0]B", None), ("A[nl9]B", None)],
)  # fmt: skip
def test_multi_parameters_at_the_ends_of_their_ranges(text: str, dwell_s: float | None) -> None:
    assert parse(text, "multi").blocks[0].dwell_s == dwell_s


def test_multi_typography() -> None:
    assert parse("ATTENTION: 50 km/h!", "multi").plain_text == f"ATTENTION{NBSP}: 50{NBSP}km/h{NBSP}!"


@pytest.mark.parametrize(
    ("text", "position", "tag", "message"),
    [
        ("[jp3][jl3]ACCI[xx3]", 14, "[xx3]", "balise inconnue « [xx3] » à la position 14"),
        ("AB [g1]", 3, "[g1]", "non prise en charge : Relais n’affiche pas les graphiques"),
        ("[g1,2,3]A", 0, "[g1,2,3]", "graphiques"),
        ("A[f1]", 1, "[f1]", "champs variables"),
        ("A[mvc,1,1,0,texte]", 1, "[mvc,1,1,0,texte]", "texte défilant"),
        ("[tr1,1,10,10]A", 0, "[tr1,1,10,10]", "rectangles de texte"),
        ("[cb1]A", 0, "[cb1]", "couleurs de fond"),
        ("A[jl6]", 1, "[jl6]", "valeur invalide dans « [jl6] » à la position 1"),
        ("A[jp5]", 1, "[jp5]", "valeur invalide"),
        ("A[cf10]", 1, "[cf10]", "valeur invalide"),
        ("A[cf256,0,0]", 1, "[cf256,0,0]", "valeur invalide"),
        (
            "A[cf1,2]",
            1,
            "[cf1,2]",
            "valeur invalide dans « [cf1,2] » à la position 1 : écrivez « [cf] », une couleur",
        ),
        ("A[fl]B", 1, "[fl]", "balise « [fl] » ouverte à la position 1 et jamais fermée"),
        ("[fl]A[fl]B[/fl]", 5, "[fl]", "clignote déjà depuis la position 0"),
        ("A[/fl]", 1, "[/fl]", "ne ferme aucun « [fl] »"),
        ("A [nl", 2, "[", "crochet « [ » sans « ] » à la position 2"),
        # Flashing as the standard writes it, and nothing else.
        ("A[fl5o5]B[/fl]", 1, "[fl5o5]", "le clignotement s’écrit « [fltXoY] » ou « [floYtX] »"),
        ("A[flt5]B[/fl]", 1, "[flt5]", "à la position 1 : le clignotement s’écrit"),
        ("A[flt5o5t5]B[/fl]", 1, "[flt5o5t5]", "le clignotement s’écrit"),
        ("AB[flt100o5]C[/fl]", 2, "[flt100o5]", "valeur invalide dans « [flt100o5] » à la position 2"),
        ("AB[flo100t5]C[/fl]", 2, "[flo100t5]", "valeur invalide"),
        # Out of the standard's ranges.
        ("A[pt256]", 1, "[pt256]", "valeur invalide dans « [pt256] » à la position 1"),
        ("A[pt10o256]", 1, "[pt10o256]", "valeur invalide"),
        ("A[pto300]", 1, "[pto300]", "valeur invalide"),
        ("A[sc100]B", 1, "[sc100]", "valeur invalide dans « [sc100] » à la position 1"),
        ("A[nl100]B", 1, "[nl100]", "valeur invalide dans « [nl100] » à la position 1"),
        # Manufacturer codes open and close: both are unsupported, not unknown.
        ("A[ms0,1]B", 1, "[ms0,1]", "non prise en charge : Relais n’affiche pas les codes propres"),
        ("A[/ms0]B", 1, "[/ms0]", "balise « [/ms0] » à la position 1 non prise en charge"),
        ("A ] B", 2, "]", "crochet « ] » isolé à la position 2"),
    ],
)
def test_multi_errors(text: str, position: int, tag: str, message: str) -> None:
    caught = error(text, "multi")
    assert (caught.position, caught.tag) == (position, tag)
    assert message in str(caught)


# MULTI text is printable characters: a control character would be drawn as a glyph. The MIB forbids
# NUL (dmsMessageMultiString); IRIS takes printable ASCII only (mnit-rtmc/iris,
# src/us/mn/state/dot/tms/utils/MultiParser.java, TEXT_PATTERN) and its MultiStringTest.java drops
# « \t\b\n\r\f » from MULTI text.
@pytest.mark.parametrize(
    ("text", "position", "name"),
    [("A\x00B", 1, "U+0000 (NUL)"), ("A\tB", 1, "U+0009 (tabulation)"), ("AB\x08", 2, "U+0008 (retour arrière)"),
     ("A\rB", 1, "U+000D (retour chariot)"), ("A[np]\x0cB", 5, "U+000C (saut de page)"),
     ("\tA", 0, "U+0009 (tabulation)"), ("A\x1b", 1, "U+001B (caractère de contrôle)"),
     ("A[nl]B\x7f", 6, "U+007F")],
)  # fmt: skip
def test_multi_control_characters_are_refused(text: str, position: int, name: str) -> None:
    caught = error(text, "multi")
    assert (caught.position, caught.tag) == (position, None)
    assert f"caractère de contrôle {name}" in str(caught)
    assert f"à la position {position}" in str(caught)


def test_multi_pasted_newlines_are_spaces_even_from_windows() -> None:
    assert parse("\r\nA\r\nB\nC\r\n", "multi") == doc(block(p("A B C")))


# --- MULTI checked against the standard's text and another implementation --------------------
# NTCIP 1203 v03.05's MIB is quoted from dunthorn/ntcip_1203_agent, artifacts/1203v0305a.mib; the
# strings below marked « ntcip crate » come from the tests of MnDOT's MULTI parser (the one behind
# IRIS), mnit-rtmc/ntcip, src/dms/multi.rs.


def test_multi_the_standards_own_example() -> None:
    """The MIB's MessageActivationCode example, « [jp3]TEST [fl]Flashing[/fl] »: [fl] alone is
    the standard's, not an extension."""
    assert parse("[jp3]TEST [fl]Flashing[/fl]", "multi") == doc(
        block(p("TEST ", Span("Flashing", FLASH)), valign="middle")
    )


@pytest.mark.parametrize(
    "text",
    ["[flto]A[/fl]", "[FLOT]A[/fl]", "[Flt10o5]A[/fl]", "[fLo0t99]A[/fl]", "[fo]A", "[fo1]A", "[fO2,0000]A",
     "[Fo3,FFFF]A", "[Fo7,abcd]A", "[jl]A", "[Jl2]A", "[JL3]A", "[jl4]A", "[JL5]A", "[jp]A", "[Jp2]A", "[JP3]A",
     "[jp4]A", "[pt]A", "[pt10]A", "[pt10o]A", "[pt10o2]A", "[pt255O255]A", "[PTO]A", "[SC1]A", "[Sc99]A[/sc]",
     "A[nl]", "A[NL0]", "A[Nl1]", "A[nL9]", "[cf]A", "[cf0]A", "[CF1]A", "[cf255,0,208]A"],
)  # fmt: skip
def test_multi_accepts_what_the_ntcip_crate_accepts(text: str) -> None:
    """ntcip crate: parse_fl…, parse_fo…, parse_jl15, parse_jp14, parse_pt…, parse_sc1/2, parse_sce,
    parse_new_line, parse_cf1/3."""
    assert parse(text, "multi").plain_text == "A"


@pytest.mark.parametrize(
    "tag",
    ["[flt10o5x]", "[flt10o100]", "[flt10o10o10]", "[/fl1]", "[FO4,FFFFF]", "[fo5,xxxx]", "[fo6,0000,0]", "[fo0]",
     "[fo256]", "[hc]", "[hc1FFFF]", "[hcXXxx]", "[JL0]", "[JP0]", "[jL1]", "[jP1]", "[np1]", "[pt10o2o]",
     "[pt256o256]", "[pt%%%]", "[sc]", "[sc100]", "[sc2,1]", "[/sc1]", "[nl10]", "[nlx]", "[cf256]", "[cf0,0]",
     "[cf0,0,255,0]", "[cf0,0.5,255]", "[CF0,a,0]", "[cf10]"],
)  # fmt: skip
def test_multi_values_the_standard_does_not_allow(tag: str) -> None:
    """ntcip crate: each is an UnsupportedTagValue there ([jL1] and [jP1] when drawn: « other » was
    retired in v02, the MIB says). Ranges: fontNumber 1..255, characterNumber 1..65535 (MIB); one
    digit of line spacing, 0–99 for character spacing and flash times, 0–255 for page times
    (ntcip crate). A standard tag badly written is a value to fix, not an unknown tag."""
    caught = error(f"A{tag}B", "multi")
    assert (caught.position, caught.tag) == (1, tag)
    assert str(caught).startswith(f"valeur invalide dans « {tag} » à la position 1 : ")


@pytest.mark.parametrize(
    "tag",
    ["[cb0]", "[CB1]", "[pb0]", "[pb50,150,200]", "[cr1,1,10,10,0]", "[Cr5,7,100,80,100,150,200]",
     "[tr1,1,10,10]", "[Tr5,7,100,80]", "[f1]", "[F4,1]", "[f13]", "[g1]", "[G]", "[g2,1,1]", "[G8,50,50,Beef]",
     "[ms0]", "[Ms1,Test]", "[/ms0]", "[/Ms999,RANDOM junk]", "[mvcl100,1,10,Text]", "[mvcr150,2,5,*MOVING*]"],
)  # fmt: skip
def test_multi_standard_tags_relais_cannot_draw_are_unsupported(tag: str) -> None:
    """ntcip crate: parse_cb1, parse_pb1/3, parse_cr/cr4, parse_tr/tr4, parse_f1/f2/f4, parse_g…,
    parse_ms…, parse_mse…, parse_mv6/7; the MIB's dmsSupportedMultiTags lists them all."""
    caught = error(f"A{tag}", "multi")
    assert (caught.position, caught.tag) == (1, tag)
    assert f"balise « {tag} » à la position 1 non prise en charge : Relais n’affiche pas" in str(caught)


@pytest.mark.parametrize(
    "tag",
    [
        "[x]",
        "[ttS123]",
        "[vsa]",
        "[slow45,10]",
        "[feedL123]",
        "[tz1,2,3]",
        "[pa1,LOW,CLOSED]",
        "[loca,b,c,d]",
    ],
)
def test_multi_tags_outside_the_standard_are_unknown(tag: str) -> None:
    """ntcip crate: parse_tag5, parse_tag7, parse_tag8 (IRIS's own tags, which are not MULTI)."""
    caught = error(f"A{tag}", "multi")
    assert (str(caught), caught.position, caught.tag) == (
        f"balise inconnue « {tag} » à la position 1",
        1,
        tag,
    )


def test_multi_brackets_as_the_ntcip_crate_reads_them() -> None:
    """ntcip crate: parse_bracket, parse_multi, parse_tag (« [x[x] »), parse_tag3, parse_tag6."""
    assert parse("[[a]]b[[[[c]][[]]]]d", "multi").plain_text == "[a]b[[c][]]d"
    assert parse("[[TEST[nl]TEST 2[np]TEST 3XX[NL]TEST 4]]", "multi") == doc(
        block(p("[TEST"), p("TEST 2")), block(p("TEST 3XX"), p("TEST 4]"))
    )
    assert (error("[x[x]", "multi").position, error("[x[x]", "multi").tag) == (0, "[")
    assert (error("bad]", "multi").position, error("bad]", "multi").tag) == (3, "]")
    assert (error("[nl", "multi").position, error("[nl", "multi").tag) == (0, "[")


@pytest.mark.parametrize(("text", "plain"), [("[hc41]", "A"), ("caf[HCe9]", "café"), ("[hc20AC]5", "€5"),
                                             ("[hc5b]nl[hc5D]", "[nl]")])  # fmt: skip
def test_multi_hexadecimal_characters(text: str, plain: str) -> None:
    """[hcX], « hexadecimal character » in the MIB's dmsSupportedMultiTags (not a manufacturer's
    code): the character numbered X, 1 to 4 hexadecimal digits (ntcip crate: parse_hc1, parse_hc2)."""
    assert parse(text, "multi").plain_text == plain


@pytest.mark.parametrize(
    ("tag", "name"), [("[HC1]", "U+0001"), ("[hc7f]", "U+007F"), ("[hc9]", "U+0009 (tabulation)")]
)
def test_multi_hexadecimal_control_characters_are_refused(tag: str, name: str) -> None:
    """ntcip crate: parse_hc1 and parse_hc5 take these; Relais refuses them as it refuses a typed
    control character, which a font would draw as a glyph."""
    caught = error(f"A {tag}", "multi")
    assert (caught.position, caught.tag) == (2, tag)
    assert f"« {tag} » à la position 2 donne le caractère de contrôle {name}" in str(caught)


@pytest.mark.parametrize(
    ("text", "dwell_s"),
    [("[pt7o4]PG1[np][pt8o4]PG2[np]PG3", [0.7, 0.8, 0.8]), ("PG1[np][pt8o4]PG2[np][pto]PG3", [None, 0.8, None]),
     ("ABC[nl]123[pt5o]", [0.5]), ("[pt7o]ABC[np][pto]123", [0.7, None]), ("ABC[np][pt7o]123", [None, 0.7])],
)  # fmt: skip
def test_multi_page_times_as_iris_reads_them(text: str, dwell_s: list[float | None]) -> None:
    """mnit-rtmc/iris, test/us/mn/state/dot/tms/utils/MultiStringTest.java, testPageOnIntervals: a
    [pt] holds for its whole page, wherever on it, and for the next ones; [pto] goes back to the
    default (here the time computed from the text)."""
    assert [b.dwell_s for b in parse(text, "multi").blocks] == dwell_s


@pytest.mark.parametrize(
    ("text", "pages"),
    [("ABC[nl][nl][nl]", [["ABC"]]), ("[nl]DEF[nl]GHI", [["", "DEF", "GHI"]]), ("ABC[nl3]DEF", [["ABC", "DEF"]]),
     ("ABC[nl][np]DEF[np]GHI", [["ABC"], ["DEF"], ["GHI"]]),
     ("ABC[nl]DEF[np]GHI[nl][nl]JKL", [["ABC", "DEF"], ["GHI", "", "JKL"]])],
)  # fmt: skip
def test_multi_lines_as_iris_reads_them(text: str, pages: list[list[str]]) -> None:
    """mnit-rtmc/iris, test/us/mn/state/dot/tms/utils/MultiStringTest.java, testGetLinesSinglePage
    and testGetLinesMultiPage: a [nl] that ends a page adds no line, one that starts it does."""
    document = parse(text, "multi")
    assert [[paragraph.text for paragraph in b.paragraphs] for b in document.blocks] == pages


def test_multi_error_positions_are_the_standards_offsets() -> None:
    """MIB, dmsMultiSyntaxErrorPosition: « the offset from the first character (e.g. first character
    has offset 0, second is 1, etc.) of the MULTI string »; dmsMessageMultiString: « not allowed to
    have any null character »."""
    assert error("[jp3]TEST [fl]Flashing[/fl][nl10]", "multi").position == 27
    assert error("[jp3]TEST\x00", "multi").position == 9


def test_error_positions_count_from_the_start_of_the_text() -> None:
    assert error("\n\n  ab{zz}").position == 6
    assert error("  \n A[zz]", "multi").position == 5


# --- plain_text round trips --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "syntax"),
    [
        ("Fête de Noël « place Bernard » samedi — vin chaud 2 €", "relais"),
        ("{centre}{b}Fête{/b} de Noël\n{couleur:rouge}samedi{/couleur}{br}{br}21 h 30", "relais"),
        ("ACCIDENT{page}VERGLAS\nPRUDENCE", "relais"),
        ("[jp3][jl3]ACCIDENT[nl]A 40[nl]RALENTIR[np][pt30o0]VERGLAS[nl]PRUDENCE", "multi"),
        ("Samedi\n\nDimanche: marché!", "plain"),
    ],
)
def test_plain_text_round_trip(text: str, syntax: str) -> None:
    document = parse(text, syntax)
    again = parse(document.plain_text, "plain")
    assert again.plain_text == document.plain_text
    assert all(span.style == PLAIN for b in again.blocks for par in b.paragraphs for span in par.spans)


def test_plain_text() -> None:
    assert parse("{b}ACCIDENT{/b}{page}VERGLAS\nPRUDENCE").plain_text == "ACCIDENT\n\nVERGLAS\nPRUDENCE"
    assert parse("Bonjour tout le monde").plain_text == parse("Bonjour tout le monde", "plain").plain_text

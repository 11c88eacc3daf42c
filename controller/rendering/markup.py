"""Turn what an author typed into a ``Document``: plain text, our small ``relais`` markup, or NTCIP
1203 MULTI as traffic engineers already write it. MARKUP.md describes the syntaxes for authors.

Every error names the character where it happens, so the web form can point at it. Text goes
through French typography (no-break spaces) one line at a time, after the tags are gone, so that
« {b}Bonjour{/b} » gets its spaces like « Bonjour » does.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import unicodedata
from collections.abc import Callable
from operator import itemgetter
from typing import NoReturn

from .model import PLAIN, Align, Block, Document, Paragraph, Span, Style, VAlign
from .typography import french_spacing_edits

MARKUP_SYNTAXES = ("plain", "relais", "multi")

_LINE_BREAK = re.compile(r"\r\n|[\r\n]")


class MarkupError(ValueError):
    """A message the author must fix; ``position`` is the 0-based offset in the text, ``tag`` the
    tag at fault as written (None when no tag is)."""

    def __init__(self, message: str, position: int, tag: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.tag = tag


def parse(text: str, syntax: str = "relais") -> Document:
    """Parse ``text`` written in ``syntax`` (one of ``MARKUP_SYNTAXES``); raises ``MarkupError``."""
    # Leading and trailing blank lines are never meant; positions still count from text[0]. MULTI
    # has no tabs nor other control characters: there they are errors, not blanks to skip.
    blanks = " \r\n" if syntax == "multi" else None
    start, end = len(text) - len(text.lstrip(blanks)), len(text.rstrip(blanks))
    if syntax == "plain":
        builder = _parse_plain(text[start:end])
    elif syntax == "relais":
        builder = _parse_relais(text, start, end)
    elif syntax == "multi":
        builder = _parse_multi(text, start, end)
    else:
        raise ValueError(f"syntaxe inconnue « {syntax} » : {', '.join(MARKUP_SYNTAXES)}")
    return builder.document()


class _Builder:
    """Collects styled characters into paragraphs and blocks; the parsers only say what happens."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.paragraphs: list[Paragraph] = []
        self.chars: list[tuple[str, Style]] = []
        self.align: Align | None = None  # of the open paragraph
        self.valign: VAlign | None = None  # of the open block, and of the next ones
        self.dwell_s: float | None = None  # likewise

    @property
    def at_line_start(self) -> bool:
        return all(char.isspace() for char, _ in self.chars)

    def add(self, text: str, style: Style) -> None:
        # NFC: a decomposed "é" pasted from elsewhere must find the font's "é".
        self.chars += [(char, style) for char in unicodedata.normalize("NFC", text).replace("\t", " ")]

    def end_paragraph(self) -> None:
        self.paragraphs.append(Paragraph(_typeset(self.chars), self.align))
        self.chars = []
        self.align = None

    def end_block(self, *, drop_open_line: bool = False, drop_blank_tail: bool = False) -> None:
        """Close the page; a page with nothing to see is dropped, as a blank page on a public panel
        looks like a failure. ``drop_open_line`` forgets the empty line the author's newline opened;
        ``drop_blank_tail`` the empty lines that end the page, which would only shrink its text."""
        if drop_open_line:
            self.chars, self.align = [], None
        else:
            self.end_paragraph()
        while drop_blank_tail and self.paragraphs and not self.paragraphs[-1].text.strip():
            self.paragraphs.pop()
        if any(paragraph.text.strip() for paragraph in self.paragraphs):
            self.blocks.append(Block(tuple(self.paragraphs), self.valign, self.dwell_s))
        self.paragraphs = []

    def document(self) -> Document:
        self.end_block()
        if not self.blocks:
            raise MarkupError("le texte est vide", 0)
        return Document(tuple(self.blocks))


def _typeset(chars: list[tuple[str, Style]]) -> tuple[Span, ...]:
    """French spacing on the whole line, then spans: an inserted space takes the style of the
    character before it, a replaced one keeps its own. Spaces at either end are dropped."""
    out: list[tuple[str, Style]] = []
    position = 0
    for start, end, replacement in french_spacing_edits("".join(char for char, _ in chars)):
        style = chars[start][1] if end > start else chars[start - 1][1]
        out += chars[position:start] + [(char, style) for char in replacement]
        position = end
    out += chars[position:]
    while out and out[-1][0] == " ":
        out.pop()
    first = next((index for index, (char, _) in enumerate(out) if char != " "), len(out))
    return tuple(
        Span("".join(char for char, _ in group), style)
        for style, group in itertools.groupby(out[first:], key=itemgetter(1))
    )


def _parse_plain(text: str) -> _Builder:
    """Each line a paragraph; a run of blank lines is one blank line (pasted e-mails have many)."""
    builder = _Builder()
    previous_blank = False
    for index, line in enumerate(_LINE_BREAK.split(text)):
        blank = not line.strip()
        if blank and previous_blank:
            continue
        if index:
            builder.end_paragraph()
        builder.add(line, PLAIN)
        previous_blank = blank
    return builder


# --- relais -----------------------------------------------------------------------------------

_COLOURS_FR = {
    "rouge": "red",
    "ambre": "amber",
    "jaune": "yellow",
    "vert": "green",
    "bleu": "blue",
    "blanc": "white",
    "noir": "black",
    "orange": "orange",
}
_HEX_COLOUR = re.compile(r"#[0-9a-f]{6}")
_ALIGNS_FR: dict[str, Align] = {"gauche": "left", "centre": "center", "droite": "right"}
_RELAIS_TOKEN = re.compile(r"\{\{|\}\}|\{[^{}\r\n]*\}|\r\n|[\r\n{}]|[^{}\r\n]+")


def _parse_relais(text: str, start: int, end: int) -> _Builder:
    parser = _RelaisParser(text)
    for match in _RELAIS_TOKEN.finditer(text, start, end):
        parser.token(match.group(), match.start())
    if parser.opened:
        name, position, tag, _ = parser.opened[-1]
        raise MarkupError(
            f"balise « {tag} » ouverte à la position {position} et jamais fermée (il manque « {{/{name}}} »)",
            position,
            tag,
        )
    return parser.builder


class _RelaisParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.builder = _Builder()
        self.style = PLAIN
        self.opened: list[tuple[str, int, str, Style]] = []  # name, position, tag as written, style outside
        self.after_page = False  # only spaces since a {page}: the newline that ends its line is part of it

    def token(self, token: str, position: int) -> None:
        after_page, self.after_page = self.after_page, False
        if token in ("{{", "}}"):
            self.builder.add(token[0], self.style)
        elif token in ("\r\n", "\r", "\n"):
            if not after_page:
                self.builder.end_paragraph()
        elif token == "{":
            raise MarkupError(
                f"accolade « {{ » sans « }} » à la position {position} ; pour l’afficher, écrivez « {{{{ »",
                position,
                "{",
            )
        elif token == "}":
            raise MarkupError(
                f"accolade « }} » isolée à la position {position} ; pour l’afficher, écrivez « }}}} »",
                position,
                "}",
            )
        elif token.startswith("{"):
            self.tag(token, position)
        else:
            self.builder.add(token, self.style)
            self.after_page = after_page and not token.strip()

    def tag(self, tag: str, position: int) -> None:
        name, colon, argument = tag[1:-1].partition(":")
        name, argument = name.strip().lower(), argument.strip().lower()
        if name == "couleur" and colon:
            self.open(
                name,
                position,
                tag,
                dataclasses.replace(self.style, colour=self.colour(argument, tag, position)),
            )
        elif colon:  # only {couleur:…} takes an argument
            raise MarkupError(f"balise inconnue « {tag} » à la position {position}", position, tag)
        elif name == "b":
            self.open(name, position, tag, dataclasses.replace(self.style, bold=True))
        elif name == "clignote":
            self.open(name, position, tag, dataclasses.replace(self.style, flashing=True))
        elif name in ("/b", "/couleur", "/clignote"):
            self.close(name[1:], position, tag)
        elif name == "br":
            self.builder.end_paragraph()
        elif name == "page":
            # {page} alone on its line: the newline before it opened no line worth keeping.
            self.builder.end_block(drop_open_line=self.builder.at_line_start)
            self.after_page = True
        elif name in _ALIGNS_FR:
            if not self.builder.at_line_start:
                raise MarkupError(
                    f"« {tag} » à la position {position} doit être au début d’une ligne", position, tag
                )
            self.builder.align = _ALIGNS_FR[name]
        else:
            raise MarkupError(f"balise inconnue « {tag} » à la position {position}", position, tag)

    @staticmethod
    def colour(argument: str, tag: str, position: int) -> str:
        if argument in _COLOURS_FR:
            return _COLOURS_FR[argument]
        if _HEX_COLOUR.fullmatch(argument):
            return argument
        raise MarkupError(
            f"couleur inconnue « {argument} » dans « {tag} » à la position {position} : "
            f"{', '.join(_COLOURS_FR)} ou #rrggbb",
            position,
            tag,
        )

    def open(self, name: str, position: int, tag: str, style: Style) -> None:
        self.opened.append((name, position, tag, self.style))
        self.style = style

    def close(self, name: str, position: int, tag: str) -> None:
        if not self.opened:
            raise MarkupError(f"« {tag} » à la position {position} ne ferme aucune balise", position, tag)
        opened_name, opened_at, opened_tag, outside = self.opened[-1]
        if opened_name != name:
            raise MarkupError(
                f"« {tag} » à la position {position} ne ferme pas « {opened_tag} », "
                f"ouverte à la position {opened_at}",
                position,
                tag,
            )
        self.opened.pop()
        self.style = outside


# --- NTCIP 1203 MULTI --------------------------------------------------------------------------

_MULTI_TOKEN = re.compile(r"\[\[|\]\]|\[[^\[\]]*\]|[\[\]]|[^\[\]]+")
# Justifications 1 (« other ») were retired in NTCIP 1203 v02: no sign need honour them.
_LINE_JUSTIFICATION: dict[str, Align | None] = {
    "": None,
    "2": "left",
    "3": "center",
    "4": "right",
    "5": "justify",
}
_PAGE_JUSTIFICATION: dict[str, VAlign | None] = {
    "": None,
    "2": "top",
    "3": "middle",
    "4": "bottom",
}
# NTCIP 1203 classic colours, mapped to the nearest name the engine knows.
_CLASSIC_COLOURS = ("black", "red", "yellow", "green", "blue", "blue", "red", "white", "orange", "amber")
# Standard tags that would draw something we cannot honestly reproduce: refused by name, whatever
# their values. Anything else that is not a standard tag (IRIS's [tt…], [vsa]…) is unknown.
_UNSUPPORTED = (
    (re.compile(r"g(\d.*)?"), "les graphiques"),
    (re.compile(r"f\d.*"), "les champs variables (heure, température…)"),
    (re.compile(r"mv.*"), "le texte défilant"),
    (re.compile(r"tr.*"), "les rectangles de texte"),
    (re.compile(r"cr.*"), "les rectangles de couleur"),
    (re.compile(r"(cb|pb).*"), "les couleurs de fond"),
    (re.compile(r"/?ms.*"), "les codes propres à un fabricant"),
)
# The standard's tags Relais draws, by the letters that name them; their values are checked apart,
# so that « [nl10] » is a value out of range, not an unknown tag.
_SUPPORTED_TAG = re.compile(r"/fl|/sc|nl|np|jl|jp|fo|cf|pt|fl|sc|hc")
# NTCIP 1203's ranges: page times in tenths of a second (0–255), flash times likewise (0–99),
# character spacing in pixels (0–99), line spacing one digit (0–9), font numbers 1–255, characters
# ([hcX], hexadecimal) 1–FFFF. MARKUP.md names the sources.
_PAGE_TIME_MAX = 255
_FLASH_TIME_MAX = 99
_CHARACTER_SPACING_MAX = 99
_FONT_NUMBER_MAX = 255
# [fltXoY] and [floYtX]: on time X, off time Y, each optional; [fl] alone flashes at the sign's
# default times (the standard's own example: « [jp3]TEST [fl]Flashing[/fl] »).
_FLASH = re.compile(r"fl(?:t(\d*)o(\d*)|o(\d*)t(\d*))?")
_PASTED_NEWLINE = re.compile(r"\r?\n")  # a lone CR is a control character like any other
_CONTROL_NAMES = {
    "\x00": "NUL",
    "\t": "tabulation",
    "\x08": "retour arrière",
    "\r": "retour chariot",
    "\x0c": "saut de page",
}


@dataclasses.dataclass
class _MultiState:
    """MULTI tags set a state that lasts until changed, across lines and pages."""

    line_align: Align | None = None
    bold: bool = False
    colour: str | None = None
    flashing_since: tuple[int, str] | None = None  # position and tag of the open [fl]

    @property
    def style(self) -> Style:
        return Style(bold=self.bold, colour=self.colour, flashing=self.flashing_since is not None)


def _parse_multi(text: str, start: int, end: int) -> _Builder:
    builder = _Builder()
    state = _MultiState()
    for match in _MULTI_TOKEN.finditer(text, start, end):
        token, position = match.group(), match.start()
        if token in ("[[", "]]"):
            builder.add(token[0], state.style)
        elif token == "[":
            raise MarkupError(
                f"crochet « [ » sans « ] » à la position {position} ; pour l’afficher, écrivez « [[ »",
                position,
                "[",
            )
        elif token == "]":
            raise MarkupError(
                f"crochet « ] » isolé à la position {position} ; pour l’afficher, écrivez « ]] »",
                position,
                "]",
            )
        elif token.startswith("["):
            _multi_tag(token, position, builder, state)
        else:
            # MULTI breaks lines with [nl] only: a newline pasted with the string is a space.
            token = _PASTED_NEWLINE.sub(" ", token)
            _refuse_control_characters(token, position)
            builder.add(token, state.style)
    if state.flashing_since is not None:
        position, tag = state.flashing_since
        raise MarkupError(
            f"balise « {tag} » ouverte à la position {position} et jamais fermée (il manque « [/fl] »)",
            position,
            tag,
        )
    builder.end_block(drop_blank_tail=True)
    return builder


def _refuse_control_characters(token: str, position: int) -> None:
    """MULTI text is printable characters: a NUL, tab or form feed would be drawn as a glyph."""
    for offset, char in enumerate(token):
        if unicodedata.category(char) == "Cc":
            name = _CONTROL_NAMES.get(char, "caractère de contrôle")
            raise MarkupError(
                f"caractère de contrôle U+{ord(char):04X} ({name}) à la position {position + offset} : "
                "MULTI n’en admet aucun ; passez à la ligne avec « [nl] »",
                position + offset,
            )


def _in_range(value: str | None, maximum: int) -> bool:
    """An optional number (absent or empty: the default) within NTCIP 1203's range for its tag."""
    return not value or int(value) <= maximum


def _multi_tag(tag: str, position: int, builder: _Builder, state: _MultiState) -> None:
    """Apply one ``[…]`` tag. As NTCIP 1203's syntax errors do, a standard tag with a value out of
    its range or badly written is told apart from a standard tag Relais cannot draw and from a tag
    the standard does not have."""
    body = tag[1:-1].lower()
    named = _SUPPORTED_TAG.match(body)
    if named is None:
        _refuse_multi_tag(body, tag, position)
    name, values = named.group(), body[named.end() :]

    def invalid(rule: str) -> MarkupError:
        return MarkupError(f"valeur invalide dans « {tag} » à la position {position} : {rule}", position, tag)

    if name == "nl":
        if not re.fullmatch(r"\d?", values):
            raise invalid("l’interligne est un seul chiffre, de 0 à 9 pixels (« [nl] » à « [nl9] »)")
        builder.end_paragraph()
        builder.align = state.line_align
    elif name == "np":
        if values:
            raise invalid("« [np] » ne prend aucune valeur")
        builder.end_block(drop_blank_tail=True)
        builder.align = state.line_align
    elif name == "jl":
        if values not in _LINE_JUSTIFICATION:
            raise invalid(
                "écrivez « [jl] », ou de « [jl2] » à « [jl5] » ; 1 (« autre ») a été retiré de la norme"
            )
        state.line_align = _LINE_JUSTIFICATION[values]
        if builder.at_line_start:
            builder.align = state.line_align
    elif name == "jp":
        if values not in _PAGE_JUSTIFICATION:
            raise invalid(
                "écrivez « [jp] », ou de « [jp2] » à « [jp4] » ; 1 (« autre ») a été retiré de la norme"
            )
        builder.valign = _PAGE_JUSTIFICATION[values]
    elif name == "fo":
        font = re.fullmatch(r"(?:(\d+)(?:,[0-9a-f]{4})?)?", values)
        if not font or not 1 <= int(font[1] or 1) <= _FONT_NUMBER_MAX:
            raise invalid("une police de 1 à 255, suivie ou non de sa version en 4 chiffres hexadécimaux")
        state.bold = int(font[1] or 1) >= 2
    elif name == "cf":
        state.colour = _multi_colour(values, invalid)
    elif name == "pt":
        times = re.fullmatch(r"(\d*)(?:o(\d*))?", values)
        if not times or not all(_in_range(value, _PAGE_TIME_MAX) for value in times.groups()):
            raise invalid("écrivez « [ptXoY] », X et Y en dixièmes de seconde de 0 à 255, chacun facultatif")
        tenths = int(times[1] or 0)
        builder.dwell_s = tenths / 10 if tenths else None
    elif name == "fl":
        _open_flashing(tag, position, state, invalid)
    elif name == "/fl":
        if values:
            raise invalid("« [/fl] » ne prend aucune valeur")
        if state.flashing_since is None:
            raise MarkupError(f"« {tag} » à la position {position} ne ferme aucun « [fl] »", position, tag)
        state.flashing_since = None
    elif name == "sc":
        if not re.fullmatch(r"\d+", values) or int(values) > _CHARACTER_SPACING_MAX:
            raise invalid("l’espacement des caractères s’écrit « [scN] », N de 0 à 99 pixels")
        # Otherwise only the hardware's business: ignored, as is [/sc].
    elif name == "/sc":
        if values:
            raise invalid("« [/sc] » ne prend aucune valeur")
    else:  # hc
        builder.add(_hexadecimal_character(tag, position, values, invalid), state.style)


def _multi_colour(values: str, invalid: Callable[[str], MarkupError]) -> str | None:
    """[cf] (the default colour), [cfN] (a classic colour) or [cfR,G,B]."""
    if not values:
        return None
    if re.fullmatch(r"\d+", values) and int(values) < len(_CLASSIC_COLOURS):
        return _CLASSIC_COLOURS[int(values)]
    channels = re.fullmatch(r"(\d+),(\d+),(\d+)", values)
    if channels and max(int(value) for value in channels.groups()) <= 255:
        return "#" + "".join(f"{int(value):02x}" for value in channels.groups())
    raise invalid(
        "écrivez « [cf] », une couleur classique de 0 à 9 ou « [cfR,G,B] » (chaque valeur de 0 à 255)"
    )


def _open_flashing(
    tag: str, position: int, state: _MultiState, invalid: Callable[[str], MarkupError]
) -> None:
    """[fltXoY], [floYtX] or [fl]: the times are the hardware's business, flashing is ours."""
    times = _FLASH.fullmatch(tag[1:-1].lower())
    if times is None:
        raise invalid(
            "le clignotement s’écrit « [fltXoY] » ou « [floYtX] » (X allumé, Y éteint, en dixièmes de "
            "seconde, chacun facultatif) ou « [fl] »"
        )
    if not all(_in_range(value, _FLASH_TIME_MAX) for value in times.groups()):
        raise invalid("les temps de clignotement vont de 0 à 99 dixièmes de seconde")
    if state.flashing_since is not None:
        raise MarkupError(
            f"« {tag} » à la position {position} : le texte clignote déjà depuis la position "
            f"{state.flashing_since[0]} (il manque « [/fl] »)",
            position,
            tag,
        )
    state.flashing_since = (position, tag)


def _hexadecimal_character(
    tag: str, position: int, digits: str, invalid: Callable[[str], MarkupError]
) -> str:
    """[hcX]: the character numbered X, in 1 to 4 hexadecimal digits, as Relais's fonts number them
    (Unicode, which is ASCII and Latin-1 below U+0100): a way to write « é » on keyboards without it."""
    if not re.fullmatch(r"[0-9a-f]{1,4}", digits) or int(digits, 16) == 0:
        raise invalid("un caractère s’écrit en 1 à 4 chiffres hexadécimaux, de « [hc1] » à « [hcFFFF] »")
    char = chr(int(digits, 16))
    if unicodedata.category(char) == "Cs":
        raise invalid("U+D800 à U+DFFF ne sont pas des caractères")
    if unicodedata.category(char) == "Cc":
        name = _CONTROL_NAMES.get(char, "caractère de contrôle")
        raise MarkupError(
            f"« {tag} » à la position {position} donne le caractère de contrôle U+{ord(char):04X} ({name}) : "
            "MULTI n’en admet aucun ; passez à la ligne avec « [nl] »",
            position,
            tag,
        )
    return char


def _refuse_multi_tag(body: str, tag: str, position: int) -> NoReturn:
    """A standard tag Relais cannot draw is refused by name; anything else is unknown."""
    for pattern, what in _UNSUPPORTED:
        if pattern.fullmatch(body):
            raise MarkupError(
                f"balise « {tag} » à la position {position} non prise en charge : Relais n’affiche pas {what}",
                position,
                tag,
            )
    raise MarkupError(f"balise inconnue « {tag} » à la position {position}", position, tag)

"""French typography for panel text: the spaces a French reader expects, made non-breaking.

Before ; : ! ? » and after « French puts a space that must never be a line break, and a number
stays on the same line as its unit. The wrapper breaks only at ordinary spaces, so turning those
spaces into U+00A0 is all it takes. Every rule is written so that applying it twice changes nothing.
"""

from __future__ import annotations

import re

NBSP = "\u00a0"

# Spaces that may stand where French wants its no-break space; U+202F (narrow no-break space)
# becomes U+00A0 too, because pixel fonts rarely have it.
_GAP = "[ \t\u00a0\u202f]"
_URL = re.compile(r"(?:https?|ftp)://\S+|www\.\S+", re.IGNORECASE)
# Units and currencies a number must not be separated from. Longest first: the regex takes the
# first alternative that matches.
_UNITS = (
    "km/h", "kWh", "kW", "km", "cm", "mm", "m²", "m³", "m", "kg", "g", "t", "min", "ms", "h", "s",
    "cl", "ml", "mL", "l", "L", "ha", "°C", "°F", "°", "€", "$", "£", "%", "‰",
)  # fmt: skip
_UNIT = "|".join(re.escape(unit) for unit in _UNITS)

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # Whatever space the author typed before ; : ! ? » becomes a no-break space.
    (re.compile(rf"(?<=\S){_GAP}+(?=[;:!?»])"), NBSP),
    # A missing one is added before ; and : only when they end a clause (followed by a space or the
    # end), which leaves 21:30, 1:2 and the like alone.
    (re.compile(r"(?<=[^\s(\[])(?=[;:](?:\s|$))"), NBSP),
    # Before ! and ?, but not between two of them ("?!") nor after an opening bracket.
    (re.compile(r"(?<=[^\s!?(\[])(?=[!?](?:[\s!?»).,;:…\]]|$))"), NBSP),
    (re.compile(r"(?<=\S)(?=»)"), NBSP),
    # After «, whether the author typed a space or not.
    (re.compile(rf"(?<=«){_GAP}*(?=\S)"), NBSP),
    # 5 €, 21 h, 50 km/h, 3 %; then the minutes of "21 h 30".
    (re.compile(rf"(?<=\d){_GAP}+(?=(?:{_UNIT})(?!\w))"), NBSP),
    (re.compile(rf"(?<=\d[ \u00a0]h){_GAP}+(?=\d\d(?!\d))"), NBSP),
    # Thousands written with spaces: 1 500 €, 12 000 habitants.
    (re.compile(r"(?<=(?<!\d)\d)[ \u202f](?=\d{3}(?!\d))"), NBSP),
    (re.compile(r"(?<=(?<!\d)\d\d)[ \u202f](?=\d{3}(?!\d))"), NBSP),
    (re.compile(r"(?<=(?<!\d)\d\d\d)[ \u202f](?=\d{3}(?!\d))"), NBSP),
    (re.compile(r"(?<=\d[ \u00a0]\d\d\d)[ \u202f](?=\d{3}(?!\d))"), NBSP),
    # The French apostrophe, between two letters only: l’école, aujourd’hui; quotes stay as typed.
    (re.compile(r"(?<=[^\W\d_])'(?=[^\W\d_])"), "\u2019"),
)


def french_spacing_edits(text: str) -> list[tuple[int, int, str]]:
    """The changes ``french_spacing`` makes, as sorted, non-overlapping ``(start, end, replacement)``
    on ``text``: the markup parser applies them to styled characters, so a rule sees a whole line
    even when its words are in different styles."""
    urls = [match.span() for match in _URL.finditer(text)]
    found: dict[tuple[int, int], str] = {}
    for pattern, replacement in _RULES:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(url_start <= start and end <= url_end for url_start, url_end in urls):
                continue
            found.setdefault((start, end), replacement)
    edits: list[tuple[int, int, str]] = []
    taken = -1  # end of the last gap kept: two rules on one gap both mean one no-break space
    for (start, end), replacement in sorted(found.items()):
        if start < taken or start == taken == end:
            continue
        taken = end
        if text[start:end] != replacement:
            edits.append((start, end, replacement))
    return edits


def french_spacing(text: str) -> str:
    """``text`` with French no-break spaces and apostrophes; idempotent."""
    parts: list[str] = []
    position = 0
    for start, end, replacement in french_spacing_edits(text):
        parts += [text[position:start], replacement]
        position = end
    parts.append(text[position:])
    return "".join(parts)

"""Layouts: the shipped files load and work on every profile they suit; broken files are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.rendering.catalogue import layouts_table
from controller.rendering.layouts import (
    LAYOUTS_DIR,
    TEXT_CONTENTS,
    Layout,
    LayoutError,
    get_layout,
    load_layout,
    load_layouts,
)
from controller.rendering.profiles import PanelProfile, ProfileError, get_profile, load_profiles

LAYOUTS = load_layouts()
PROFILES = load_profiles()
SUITED = [
    (layout, profile) for layout in LAYOUTS.values() for profile in PROFILES.values() if layout.suits(profile)
]
SUITED_IDS = [f"{layout.name}-{profile.id}" for layout, profile in SUITED]

# Which shipped layout suits which shipped profile: a change here changes what staff can pick.
EXPECTED_SUITS = {
    "text": set(PROFILES),
    "alert-line": {"led-amber-96x16", "led-red-96x16", "led-white-96x16"},
    "title-body": {p for p in PROFILES if PROFILES[p].height >= 32},
    "alert": {p for p in PROFILES if PROFILES[p].height >= 32},
    "pictogram-text": {p for p in PROFILES if PROFILES[p].height >= 32 and PROFILES[p].width >= 128},
    "image-text": {p for p in PROFILES if PROFILES[p].height >= 32 and PROFILES[p].width >= 128},
    "bulletin": {
        "epaper-bw-800x480",
        "epaper-bwr-800x480",
        "epaper-7c-600x448",
        "epaper-bw-1872x1404",
    },
}

GOOD = """\
name = "sample"
label = "Exemple"
description = "Pour les tests."

[suits]
technologies = ["led", "epaper"]

[roles.normal]
background = "off"
foreground = "on"
accent = "on"

[roles.warning]
background = "off"
foreground = "on"
accent = "red"

[roles.emergency]
background = "red"
foreground = "off"
accent = "off"

[[zones]]
name = "title"
content = "title"
box = [0.0, 0.0, 1.0, 0.4]
font = "sans-bold"

[[zones]]
name = "body"
content = "body"
box = [0.0, 0.4, 1.0, 0.6]
font = "sans-bold"
fit = "page"
"""


def write(tmp_path: Path, text: str, name: str = "sample") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_layouts() -> None:
    assert set(LAYOUTS) >= {"text", "title-body", "pictogram-text", "alert", "bulletin"}
    for name, layout in LAYOUTS.items():
        assert (
            layout.name == name and layout.label and set(layout.roles) == {"normal", "warning", "emergency"}
        )
        assert sum(zone.fit == "page" for zone in layout.zones) <= 1
    assert get_layout("bulletin").suits_technologies == ("epaper",)
    assert set(get_layout("alert").suits_technologies) == {"led", "epaper"}
    assert any(zone.frame for zone in get_layout("alert").zones)
    assert [zone.content for zone in get_layout("bulletin").zones] == [
        "title",
        "qr",
        "body",
        "date",
        "footer",
    ]


def test_suits_matrix() -> None:
    actual = {name: {p.id for p in PROFILES.values() if layout.suits(p)} for name, layout in LAYOUTS.items()}
    assert actual == EXPECTED_SUITS


def test_every_profile_has_an_alert_layout() -> None:
    for profile in PROFILES.values():
        assert get_layout("alert").suits(profile) or get_layout("alert-line").suits(profile)


def test_suits_checks_every_condition() -> None:
    layout = load_layout(LAYOUTS_DIR / "bulletin.toml")
    assert not layout.suits(get_profile("led-amber-288x96"))  # technology
    assert not layout.suits(get_profile("epaper-bw-400x300"))  # size
    line = get_layout("alert-line")
    assert line.suits(get_profile("led-red-96x16")) and not line.suits(get_profile("led-amber-128x32"))
    restricted = Layout(**{**layout.__dict__, "colour_modes": ("bwr",)})
    assert restricted.suits(get_profile("epaper-bwr-800x480"))
    assert not restricted.suits(get_profile("epaper-bw-800x480"))


@pytest.mark.parametrize(("layout", "profile"), SUITED, ids=SUITED_IDS)
def test_zones_fit_the_panel_without_overlap(layout: Layout, profile: PanelProfile) -> None:
    rects = [layout.zone_rect(zone, profile) for zone in layout.zones]
    margin = layout.margin_px(profile)
    for (x0, y0, x1, y1), zone in zip(rects, layout.zones, strict=True):
        assert margin <= x0 < x1 <= profile.width - margin, zone.name
        assert margin <= y0 < y1 <= profile.height - margin, zone.name
        if zone.content in TEXT_CONTENTS:
            # Room for one line at the legible size, inside the frame when there is one; a scalable
            # font's line is about 1.17 of its size (DejaVu Sans), a pixel font's is its size.
            usable = y1 - y0 - (2 if zone.frame else 0)
            line = (zone.min_size or profile.min_legible_px) * (1 if profile.is_led else 1.2)
            assert usable >= line, zone.name
    for index, a in enumerate(rects):
        for b in rects[index + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


@pytest.mark.parametrize(("layout", "profile"), SUITED, ids=SUITED_IDS)
def test_role_colours_are_readable(layout: Layout, profile: PanelProfile) -> None:
    """Foreground and accent stand out from the background (WCAG contrast ≥ 3) in every role."""
    for role in layout.roles.values():
        background = _rgb(profile, role.background)
        for name in (role.foreground, role.accent):
            assert _contrast(_rgb(profile, name), background) >= 3, (role, name)


def _rgb(profile: PanelProfile, name: str) -> tuple[int, int, int]:
    colour = profile.colour(name)
    return profile.palette[colour] if isinstance(colour, int) else colour


def _contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    def luminance(rgb: tuple[int, int, int]) -> float:
        r, g, b = (c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_zone_rect_rounding_and_margin() -> None:
    layout = get_layout("title-body")
    led, paper = get_profile("led-amber-128x32"), get_profile("epaper-bw-296x128")
    title, body = layout.zones
    assert layout.zone_rect(title, led) == (0, 0, 128, 12)
    assert layout.zone_rect(body, led) == (0, 12, 128, 32)
    assert layout.margin_px(paper) == 4  # 0.03 x 128 = 3.84
    assert layout.zone_rect(title, paper) == (4, 4, 292, 49)  # 120 x 0.375 = 45
    assert layout.zone_rect(body, paper) == (4, 49, 292, 124)


def test_zone_rect_is_never_empty(tmp_path: Path) -> None:
    text = GOOD.replace("[0.0, 0.4, 1.0, 0.6]", "[0.999, 0.999, 0.001, 0.001]")
    layout = load_layout(write(tmp_path, text))
    assert layout.zone_rect(layout.zones[1], get_profile("led-amber-96x16")) == (95, 15, 96, 16)


def test_fonts_for_each_technology(tmp_path: Path) -> None:
    body = get_layout("title-body").zones[1]
    assert (body.font_led, body.font_epaper) == ("pixel", "sans-bold")
    title = get_layout("title-body").zones[0]
    assert (title.font_led, title.font_epaper) == ("pixel-bold", "sans-bold")
    qr = get_layout("bulletin").zones[1]
    assert (qr.font_led, qr.font_epaper, qr.required) == (None, None, False)
    text = GOOD.replace('font = "sans-bold"\nfit', 'font_led = "pixel"\nfont_epaper = "sans"\nfit')
    body = load_layout(write(tmp_path, text)).zones[1]
    assert (body.font_led, body.font_epaper, body.min_size, body.max_size) == ("pixel", "sans", None, None)


def test_defaults(tmp_path: Path) -> None:
    layout = load_layout(write(tmp_path, GOOD))
    zone = layout.zones[0]
    assert (zone.align, zone.valign, zone.colour, zone.fit, zone.required, zone.frame) == (
        "center",
        "middle",
        "foreground",
        "shrink",
        True,
        False,
    )
    assert (layout.margin_led, layout.margin_epaper, layout.min_width, layout.colour_modes) == (
        0,
        0,
        None,
        None,
    )


def _zone_error(index: int, key: str) -> str:
    return f"zones[{index}].{key}: "


@pytest.mark.parametrize(
    ("old", "new", "where", "what"),
    [
        ('name = "sample"', 'name = "other"', "name: ", "nom du fichier"),
        ('label = "Exemple"\n', "", "label: ", "clé manquante"),
        ('label = "Exemple"', "label = 3", "label: ", "un texte"),
        ('description = "Pour les tests."', 'description = "x"\ncolour = "red"', "colour: ", "clé inconnue"),
        ('description = "Pour les tests."', 'description = ""\nmargin = 0.5', "margin: ", "de 0 à 0.2"),
        ('technologies = ["led", "epaper"]', 'technologies = ["lcd"]', "suits.technologies[0]: ", "« lcd »"),
        ('technologies = ["led", "epaper"]', "technologies = []", "suits.technologies: ", "vide"),
        (
            'technologies = ["led", "epaper"]',
            'technologies = ["led"]\ncolour_modes = ["bw"]',
            "suits.colour_modes[0]: ",
            "epaper",
        ),
        (
            'technologies = ["led", "epaper"]',
            'technologies = ["led"]\nmin_width = 2',
            "suits.min_width: ",
            "de 8",
        ),
        (
            'technologies = ["led", "epaper"]',
            'technologies = ["led"]\nmax_size = 9',
            "suits.max_size: ",
            "inconnue",
        ),
        (
            'technologies = ["led", "epaper"]',
            'technologies = ["led"]\nmin_height = 32\nmax_height = 16',
            "suits.max_height: ",
            "de 32 à 4096",
        ),
        ('accent = "red"', 'accent = "purple"', "roles.warning.accent: ", "« purple »"),
        ('accent = "red"', 'accent = "#ff00"', "roles.warning.accent: ", "#rrggbb"),
        ("[roles.emergency]", "[roles.urgent]", "roles.emergency: ", "clé manquante"),
        ('accent = "red"', 'accent = "red"\n[roles.other]', "roles.other: ", "clé inconnue"),
        ('content = "title"', 'content = "headline"', _zone_error(0, "content"), "« headline »"),
        ('content = "title"', 'content = "title"\nalign = "milieu"', _zone_error(0, "align"), "left, center"),
        (
            'content = "title"',
            'content = "title"\nvalign = "centre"',
            _zone_error(0, "valign"),
            "top, middle",
        ),
        (
            'content = "title"',
            'content = "title"\ncolour = "background"',
            _zone_error(0, "colour"),
            "foreground",
        ),
        ('content = "title"', 'content = "title"\nfit = "scroll"', _zone_error(0, "fit"), "shrink, page"),
        ('content = "title"', 'content = "title"\nfrane = true', _zone_error(0, "frane"), "clé inconnue"),
        ('content = "title"', 'content = "title"\nframe = "yes"', _zone_error(0, "frame"), "true ou false"),
        ('content = "title"', 'content = "title"\nmin_size = "tiny"', _zone_error(0, "min_size"), "legible"),
        (
            'content = "title"',
            'content = "title"\nmin_size = 20\nmax_size = 10',
            _zone_error(0, "min_size"),
            "max_size",
        ),
        ("[0.0, 0.0, 1.0, 0.4]", "[0.0, 0.0, 1.0]", _zone_error(0, "box"), "quatre nombres"),
        ("[0.0, 0.0, 1.0, 0.4]", '[0.0, 0.0, 1.0, "0.4"]', _zone_error(0, "box"), "quatre nombres"),
        ("[0.0, 0.0, 1.0, 0.4]", "[0.1, 0.0, 1.0, 0.4]", _zone_error(0, "box"), "déborde"),
        ("[0.0, 0.0, 1.0, 0.4]", "[-0.1, 0.0, 0.5, 0.4]", _zone_error(0, "box"), "≥ 0"),
        ("[0.0, 0.0, 1.0, 0.4]", "[0.0, 0.0, 1.0, 0.0]", _zone_error(0, "box"), "> 0"),
        ("[0.0, 0.0, 1.0, 0.4]", "[0.0, 0.0, 1.0, 0.5]", _zone_error(1, "box"), "chevauche zones[0]"),
        ('name = "body"', 'name = "title"', _zone_error(1, "name"), "déjà"),
        ('content = "title"', 'content = "title"\nfit = "page"', _zone_error(1, "fit"), "une seule zone"),
        ('font = "sans-bold"\n\n', "\n", _zone_error(0, "font"), "clé manquante"),
        ('font = "sans-bold"\n\n', 'font = "comic"\n\n', _zone_error(0, "font"), "« comic »"),
        (
            'font = "sans-bold"\n\n',
            'font = "sans"\nfont_led = "sans"\n\n',
            _zone_error(0, "font_led"),
            "pixel",
        ),
        (
            'font = "sans-bold"\n\n',
            'font = "sans"\nfont_led = "pixel"\nfont_epaper = "sans"\n\n',
            _zone_error(0, "font"),
            "inutile",
        ),
        ('content = "title"', 'content = "qr"', _zone_error(0, "font"), "pas de police"),
    ],
)
def test_broken_files_name_file_and_key(tmp_path: Path, old: str, new: str, where: str, what: str) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(LayoutError) as caught:
        load_layout(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {where}"), message
    assert what in message, message


def test_non_text_zones_take_no_text_keys(tmp_path: Path) -> None:
    text = GOOD.replace(
        'content = "title"\nbox = [0.0, 0.0, 1.0, 0.4]\nfont = "sans-bold"',
        'content = "qr"\nbox = [0.0, 0.0, 1.0, 0.4]',
    )
    assert load_layout(write(tmp_path, text)).zones[0].fit == "shrink"
    broken = text.replace('content = "qr"', 'content = "qr"\nmax_size = 20')
    with pytest.raises(LayoutError, match=r"zones\[0\]\.max_size: seulement pour une zone de texte"):
        load_layout(write(tmp_path, broken))


def test_wrong_shapes(tmp_path: Path) -> None:
    no_zones = "zones = []\n" + GOOD[: GOOD.index("[[zones]]")]
    with pytest.raises(LayoutError, match="zones: il faut au moins une zone"):
        load_layout(write(tmp_path, no_zones))
    with pytest.raises(LayoutError, match=r"suits: clé manquante"):
        load_layout(write(tmp_path, GOOD.replace("[suits]\ntechnologies", "[other]\ntechnologies")))
    with pytest.raises(LayoutError, match=r"roles: doit être une table"):
        load_layout(
            write(tmp_path, 'roles = "all"\n' + GOOD.split("\n[roles.normal]")[0].replace("roles", "x"))
        )


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('accent = "red"', "accent = red"))
    with pytest.raises(LayoutError, match=r"ligne 16, colonne 10: TOML invalide") as caught:
        load_layout(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_load_layouts_names_the_broken_file(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    write(tmp_path, GOOD.replace('name = "sample"', 'name = "broken"').replace("0.4]", "0.5]", 1), "broken")
    with pytest.raises(LayoutError, match=r"broken\.toml: zones\[1\]\.box"):
        load_layouts(tmp_path)
    (tmp_path / "broken.toml").unlink()
    assert list(load_layouts(tmp_path)) == ["sample"]
    with pytest.raises(LayoutError, match="aucune mise en page"):
        load_layouts(tmp_path / "empty")


def test_shipped_errors_name_the_file_relative_to_the_repo(tmp_path: Path) -> None:
    assert load_layout(LAYOUTS_DIR / "alert.toml") == get_layout("alert")
    with pytest.raises(LayoutError, match=r"^layouts/nope\.toml: lecture impossible"):
        load_layout(LAYOUTS_DIR / "nope.toml")


def test_get_layout_lists_known_names() -> None:
    with pytest.raises(LayoutError, match="alert, alert-line, bulletin"):
        get_layout("poster")


def test_layouts_table() -> None:
    lines = layouts_table().splitlines()
    assert lines[0].startswith("nom")
    for layout in LAYOUTS.values():
        assert any(line.startswith(layout.name + " ") and layout.label in line for line in lines)
    assert len(lines) == 2 + len(LAYOUTS)
    small = layouts_table("led-amber-96x16")
    assert "body 96x16" in small and "bulletin" not in small and "alert-line" in small
    with pytest.raises(ProfileError):
        layouts_table("no-such-profile")

"""Panel profiles: the shipped file loads, palettes and colours are right, broken files are refused."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from controller.rendering.catalogue import profiles_table
from controller.rendering.profiles import (
    PROFILES_FILE,
    PanelProfile,
    ProfileError,
    get_profile,
    load_profiles,
    match_profile,
)

PROFILES = load_profiles()
BLACK, WHITE, RED = (0, 0, 0), (255, 255, 255), (255, 0, 0)

# The legibility rule's results; a change here is a change of what commune staff may send.
EXPECTED_MIN_LEGIBLE = {
    "led-amber-96x16": 8,
    "led-red-96x16": 8,
    "led-white-96x16": 8,
    "led-amber-128x32": 10,
    "led-amber-192x64": 12,
    "led-red-192x64": 12,
    "led-white-192x64": 12,
    "led-amber-192x64-4bit": 12,
    "led-amber-288x96": 13,
    "led-rgb-64x32": 8,
    "led-rgb-128x64": 12,
    "epaper-bw-296x128": 29,
    "epaper-bw-400x300": 31,
    "epaper-bw-800x480": 39,
    "epaper-bwr-800x480": 39,
    "epaper-7c-600x448": 34,
    "epaper-bw-1872x1404": 107,
}

GOOD = """
[led-test-32x16]
label = "Test"
technology = "led"
width = 32
height = 16
colour_mode = "mono"
led_colour = "amber"
bits = 1
pixel_pitch_mm = 10.0
viewing_distance_m = 20.0
partial_refresh = true
min_refresh_s = 0
note = "un module P10"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profiles.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_required_profile_is_shipped() -> None:
    assert set(PROFILES) == set(EXPECTED_MIN_LEGIBLE)
    assert all(profile.id == profile_id for profile_id, profile in PROFILES.items())


def test_min_legible_px_per_profile() -> None:
    assert {profile_id: p.min_legible_px for profile_id, p in PROFILES.items()} == EXPECTED_MIN_LEGIBLE
    for profile in PROFILES.values():
        assert (7 if profile.is_led else 12) <= profile.min_legible_px <= profile.height


def test_min_legible_px_follows_distance_and_floors() -> None:
    base = get_profile("led-amber-192x64")
    assert _with(base, viewing_distance_m=1.0).min_legible_px == 7  # the smallest pixel font
    assert _with(base, viewing_distance_m=60.0).min_legible_px == 24
    assert _with(base, viewing_distance_m=10_000.0).min_legible_px == 64  # never more than the panel
    paper = get_profile("epaper-bw-800x480")
    # Close up, the 4.5 mm accessibility floor rules: 4.5 / 0.204 / 0.7 = 31.5.
    assert _with(paper, viewing_distance_m=0.5).min_legible_px == 32
    assert _with(paper, pixel_pitch_mm=1.0, viewing_distance_m=0.5).min_legible_px == 12


def _with(profile: PanelProfile, **changes: float) -> PanelProfile:
    values = {**profile.__dict__, **changes}
    return PanelProfile(**values)


def test_palettes_per_colour_mode() -> None:
    assert get_profile("led-amber-192x64").palette == (BLACK, (255, 176, 0))
    assert get_profile("led-white-96x16").palette == (BLACK, WHITE)
    grey = get_profile("led-amber-192x64-4bit").palette
    assert len(grey) == 16 and grey[0] == BLACK and grey[15] == (255, 176, 0)
    assert [level[0] for level in grey] == [17 * i for i in range(16)]
    assert all(a[1] <= b[1] for a, b in itertools.pairwise(grey))
    assert get_profile("led-rgb-128x64").palette == ()
    assert get_profile("epaper-bw-800x480").palette == (WHITE, BLACK)
    assert get_profile("epaper-bwr-800x480").palette == (WHITE, BLACK, RED)
    assert get_profile("epaper-7c-600x448").palette == (
        WHITE,
        BLACK,
        (0, 255, 0),
        (0, 0, 255),
        RED,
        (255, 255, 0),
        (255, 128, 0),
    )


def test_image_mode_bits_and_coherence() -> None:
    for profile in PROFILES.values():
        assert profile.image_mode == ("RGB" if profile.colour_mode == "rgb" else "P")
        assert profile.is_led == (profile.colour_mode in ("mono", "rgb"))
        assert (profile.led_colour is not None) == (profile.colour_mode == "mono")
        if profile.is_led:
            assert profile.min_refresh_s == 0 and profile.refresh_budget_per_day is None
            assert 10 <= profile.pixel_pitch_mm <= 16 and 20 <= profile.viewing_distance_m <= 50
        else:
            assert profile.min_refresh_s > 0 and profile.pixel_pitch_mm < 0.3
            assert 1 <= profile.viewing_distance_m <= 3
        if profile.image_mode == "P":
            assert len(profile.palette) <= 2**profile.bits
    assert get_profile("epaper-bw-1872x1404").bits == 1  # the 16-grey IT8951 panel is driven 1-bit


def test_colour_on_and_off() -> None:
    amber = get_profile("led-amber-192x64")
    assert (amber.colour("off"), amber.colour("on")) == (0, 1)
    assert get_profile("led-amber-192x64-4bit").colour("on") == 15
    assert get_profile("led-rgb-128x64").colour("on") == (255, 176, 0)
    assert get_profile("led-rgb-128x64").colour("off") == BLACK
    for profile_id in ("epaper-bw-800x480", "epaper-bwr-800x480", "epaper-7c-600x448"):
        profile = get_profile(profile_id)
        assert profile.palette[profile.colour("on")] == BLACK
        assert profile.palette[profile.colour("off")] == WHITE


def test_colour_names_go_to_the_nearest_colour() -> None:
    amber = get_profile("led-amber-192x64")
    assert amber.colour("red") == amber.colour("on")
    assert amber.colour("black") == 0
    # A coloured name never vanishes into the background, even when that is nearer.
    assert amber.colour("green") == amber.colour("blue") == 1
    assert get_profile("led-amber-192x64-4bit").colour("red") == 15
    bwr = get_profile("epaper-bwr-800x480")
    assert bwr.palette[bwr.colour("red")] == RED
    assert bwr.palette[bwr.colour("orange")] == RED
    assert bwr.palette[bwr.colour("blue")] == BLACK
    assert bwr.colour("white") == 0
    bw = get_profile("epaper-bw-800x480")
    assert bw.colour("yellow") == 1
    seven = get_profile("epaper-7c-600x448")
    assert seven.palette[seven.colour("amber")] == (255, 128, 0)
    assert seven.palette[seven.colour("green")] == (0, 255, 0)
    assert get_profile("led-rgb-64x32").colour("green") == (0, 255, 0)


def test_hex_colours() -> None:
    assert get_profile("led-rgb-64x32").colour("#12aB34") == (0x12, 0xAB, 0x34)
    grey = get_profile("led-amber-192x64-4bit")
    assert grey.colour("#000000") == 0
    assert grey.colour("#885e00") == 8  # (136, 94, 0) is level 8 of 15
    bw = get_profile("epaper-bw-800x480")
    assert bw.colour("#f0f0f0") == 0  # plain nearest: an almost-white background stays white
    assert bw.colour("#202020") == 1
    seven = get_profile("epaper-7c-600x448")
    assert seven.palette[seven.colour("#0010f0")] == (0, 0, 255)


@pytest.mark.parametrize("name", ["purple", "#12345", "#gggggg", "ON", ""])
def test_unknown_colour_is_refused(name: str) -> None:
    with pytest.raises(ProfileError, match=r"led-amber-192x64.*couleur"):
        get_profile("led-amber-192x64").colour(name)


def test_get_profile_lists_known_ids() -> None:
    with pytest.raises(ProfileError, match="led-amber-192x64") as caught:
        get_profile("led-amber-999x9")
    assert "led-amber-999x9" in str(caught.value)


def test_default_file_is_cached_and_copies_are_returned() -> None:
    first = load_profiles()
    first.clear()
    assert load_profiles() == PROFILES
    assert load_profiles(PROFILES_FILE)["led-amber-192x64"] is get_profile("led-amber-192x64")


def test_match_profile_for_legacy_panels() -> None:
    assert match_profile("led", 192, 64, "amber") is get_profile("led-amber-192x64")
    assert match_profile("led", 96, 16, "red") is get_profile("led-red-96x16")
    assert match_profile("led", 128, 64, "rgb") is get_profile("led-rgb-128x64")
    assert match_profile("epaper", 800, 480, "bw") is get_profile("epaper-bw-800x480")
    assert match_profile("led", 128, 32, "red") is None  # no red 128x32 is shipped
    assert match_profile("epaper", 192, 64, "amber") is None  # technology and mode disagree
    assert match_profile("led", 192, 64, "purple") is None


def test_a_good_file_loads(tmp_path: Path) -> None:
    profile = load_profiles(write(tmp_path, GOOD))["led-test-32x16"]
    assert (profile.width, profile.height, profile.bits, profile.min_legible_px) == (32, 16, 1, 8)


@pytest.mark.parametrize(
    ("old", "new", "key", "what"),
    [
        ("width = 32", "width = 5000", "width", "de 8 à 4096"),
        ("width = 32", "width = 32.0", "width", "un entier"),
        ("width = 32\n", "", "width", "clé manquante"),
        ("bits = 1", "bits = 2", "bits", "1 ou 4"),
        ("bits = 1", "bits = true", "bits", "un entier"),
        ("partial_refresh = true", "partial_refresh = 1", "partial_refresh", "true ou false"),
        ('colour_mode = "mono"', 'colour_mode = "bw"', "colour_mode", "technology"),
        ('colour_mode = "mono"', 'colour_mode = "grey"', "colour_mode", "pas une valeur permise"),
        ('led_colour = "amber"', 'led_colour = "green"', "led_colour", "pas une valeur permise"),
        ("min_refresh_s = 0", "min_refresh_s = 5", "min_refresh_s", "doit être 0"),
        ("pixel_pitch_mm = 10.0", "pixel_pitch_mm = 0", "pixel_pitch_mm", "0 (exclu)"),
        ('label = "Test"', 'label = " "', "label", "vide"),
        ('note = "un module P10"', 'note = "x"\npitch = 3', "pitch", "clé inconnue"),
        (
            "min_refresh_s = 0",
            "min_refresh_s = 0\nrefresh_budget_per_day = 10",
            "refresh_budget_per_day",
            "e-paper",
        ),
    ],
)
def test_broken_files_name_file_profile_and_key(
    tmp_path: Path, old: str, new: str, key: str, what: str
) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ProfileError) as caught:
        load_profiles(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: led-test-32x16.{key}: "), message
    assert what in message


def test_numbers_are_shown_as_written(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("pixel_pitch_mm = 10.0", "pixel_pitch_mm = 0"))
    with pytest.raises(
        ProfileError, match=r"pixel_pitch_mm: doit être un nombre de 0 \(exclu\) à 100\.0, pas 0$"
    ):
        load_profiles(path)


def test_non_mono_profiles_refuse_led_keys(tmp_path: Path) -> None:
    text = GOOD.replace('colour_mode = "mono"', 'colour_mode = "rgb"')
    with pytest.raises(ProfileError, match=r"led-test-32x16\.bits: seulement"):
        load_profiles(write(tmp_path, text.replace('led_colour = "amber"\n', "")))


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("width = 32", "width = = 32"))
    with pytest.raises(ProfileError, match=r"ligne 5, colonne \d+: TOML invalide") as caught:
        load_profiles(path)
    assert str(caught.value).startswith(str(path))


def test_bad_profile_ids_and_shapes(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="Bad_Id"):
        load_profiles(write(tmp_path, GOOD.replace("[led-test-32x16]", "[Bad_Id]")))
    with pytest.raises(ProfileError, match="loose: doit être une table"):
        load_profiles(write(tmp_path, 'loose = "value"\n'))
    with pytest.raises(ProfileError, match="aucun profil"):
        load_profiles(write(tmp_path, ""))


def test_shipped_file_errors_name_it_relative_to_the_repo(tmp_path: Path) -> None:
    assert str(PROFILES_FILE).endswith("controller/rendering/profiles.toml")
    with pytest.raises(ProfileError, match=r"^.*profiles\.toml: lecture impossible"):
        load_profiles(tmp_path / "missing" / "profiles.toml")


def test_profiles_table_lists_every_profile() -> None:
    table = profiles_table()
    lines = table.splitlines()
    assert lines[0].startswith("id") and "lisible (px)" in lines[0]
    for profile in PROFILES.values():
        row = next(line for line in lines if line.startswith(profile.id + " "))
        assert profile.label in row and f"{profile.width}x{profile.height}" in row
    assert len(lines) == 2 + len(PROFILES)

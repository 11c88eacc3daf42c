"""French typography: which spaces become no-break spaces, and which texts are left alone."""

from __future__ import annotations

import itertools

import pytest

from controller.rendering.typography import NBSP, french_spacing, french_spacing_edits


def nb(text: str) -> str:
    """Tests write the expected no-break spaces as "_"."""
    return text.replace("_", NBSP)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # An ordinary space before ; : ! ? » becomes a no-break space...
        ("Attention ; travaux", "Attention_; travaux"),
        ("Horaires : 9 h-12 h", "Horaires_: 9_h-12_h"),
        ("Bonjour !", "Bonjour_!"),
        ("Vraiment ?", "Vraiment_?"),
        ("Bonjour   !", "Bonjour_!"),
        ("Bonjour\u202f!", "Bonjour_!"),
        # ...and a missing one is added.
        ("Attention; travaux", "Attention_; travaux"),
        ("Attention: travaux", "Attention_: travaux"),
        ("Note:", "Note_:"),
        ("Bonjour!", "Bonjour_!"),
        ("Vraiment?", "Vraiment_?"),
        # « and »
        ("«Bonjour»", "«_Bonjour_»"),
        ("« Bonjour »", "«_Bonjour_»"),
        ("«\u202fBonjour\u202f»", "«_Bonjour_»"),
        ("«Quoi?»", "«_Quoi_?_»"),
        # Numbers and their units or currency.
        ("vin chaud 2 €", "vin chaud 2_€"),
        ("2,50 €", "2,50_€"),
        ("à 21 h", "à 21_h"),
        ("à 21 h 30", "à 21_h_30"),
        ("limité à 50 km/h", "limité à 50_km/h"),
        ("hausse de 3 %", "hausse de 3_%"),
        ("à 200 m", "à 200_m"),
        ("plus de 3,5 t", "plus de 3,5_t"),
        ("il fait -5 °C", "il fait -5_°C"),
        ("1 500 habitants", "1_500 habitants"),
        ("1 500 000 €", "1_500_000_€"),
        # The apostrophe between two letters.
        ("l'école d'aujourd'hui", "l\u2019école d\u2019aujourd\u2019hui"),
    ],
)
def test_rules(text: str, expected: str) -> None:
    assert french_spacing(text) == nb(expected)


@pytest.mark.parametrize(
    "text",
    [
        "https://www.bourgenbresse.fr/agenda?mois=12",  # URLs, whatever they contain
        "Voir http://exemple.fr/a:b;c!d?e",
        "www.exemple.fr/page?id=3",
        "séance à 21:30",  # times
        "échelle 1:2",  # ratios
        "le 3 mai",  # a unit only when it is a word of its own
        "5 minutes",
        "en 2024 200 bénévoles",  # a year is not a thousands group
        "'cité'",  # quotes, not apostrophes
        "(!)",
        "ligne\n! seule",  # a line never starts with a no-break space
    ],
)
def test_left_alone(text: str) -> None:
    assert french_spacing(text) == text


def test_no_space_between_repeated_marks() -> None:
    assert french_spacing("Quoi?!") == nb("Quoi_?!")
    assert french_spacing("Non!!!") == nb("Non_!!!")
    assert french_spacing("Quoi ?!") == nb("Quoi_?!")


def test_no_break_space_after_url_punctuation_is_kept_outside_the_url() -> None:
    assert french_spacing("Voir https://exemple.fr !") == nb("Voir https://exemple.fr_!")


@pytest.mark.parametrize(
    "text",
    [
        "«Bonjour» : il est 21 h 30; 5 € le verre!",
        "Fête de Noël « place Bernard » samedi — vin chaud 2 €",
        "l'A 40 à 50 km/h ?! 1 500 000 € https://x.fr/?a=1",
    ],
)
def test_idempotent(text: str) -> None:
    once = french_spacing(text)
    assert french_spacing(once) == once
    assert french_spacing_edits(once) == []


def test_edits_are_sorted_and_disjoint() -> None:
    text = "«Bonjour» : 5 € l'unité!"
    edits = french_spacing_edits(text)
    assert edits == sorted(edits)
    assert all(previous[1] <= current[0] for previous, current in itertools.pairwise(edits))
    assert edits[0] == (1, 1, NBSP)  # inserted after «

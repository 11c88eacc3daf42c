"""The shipped geocodes table: every French department once, NUTS3 2013 and MeteoAlarm's EMMA_ID."""

from __future__ import annotations

from collections import Counter

from controller.official.geocodes import (
    TABLE,
    department_of_geocode,
    departments,
    departments_of_geocodes,
)

OVERSEAS = {"971": "FRA10", "972": "FRA20", "973": "FRA30", "974": "FRA40", "976": "FRA50"}


def test_table_names_its_source_and_version() -> None:
    header = TABLE.read_text(encoding="utf-8").splitlines()[:8]
    assert any("Version 2026-12-07" in line for line in header)
    assert any("2013 version of NUTS" in line for line in header)
    assert any("MeteoAlarm's geocodes-aliases.csv" in line for line in header)


def test_every_department_present_once() -> None:
    codes = [department.insee for department in departments()]
    metropolitan = [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B"]
    assert sorted(codes) == sorted(metropolitan + list(OVERSEAS))
    assert len(codes) == 101
    for column in ("insee", "name", "nuts3"):
        assert max(Counter(getattr(d, column) for d in departments()).values()) == 1, column
    emma = [d.emma_id for d in departments() if d.emma_id]
    assert len(emma) == len(set(emma)) == 93


def test_ain() -> None:
    ain = department_of_geocode("NUTS3", "FR711")
    assert ain is not None
    assert (ain.insee, ain.name, ain.emma_id) == ("01", "Ain", "FR039")
    assert department_of_geocode("EMMA_ID", "FR039") == ain
    assert department_of_geocode("emma_id", " fr039 ") == ain


def insee(scheme: str, value: str) -> str | None:
    department = department_of_geocode(scheme, value)
    return None if department is None else department.insee


def test_other_departments_seen_in_real_documents() -> None:
    # Météo-France's and MeteoAlarm's own documents: Hautes-Pyrénées FR003, Haute-Garonne FR623, Var FR825.
    assert insee("EMMA_ID", "FR003") == "65"
    assert insee("NUTS3", "FR623") == "31"
    assert insee("NUTS3", "FR825") == "83"
    assert insee("NUTS3", "FR831") == "2A"
    assert insee("NUTS3", "FR101") == "75"


def test_overseas_departments_by_nuts3_without_emma_id() -> None:
    for insee, nuts3 in OVERSEAS.items():
        department = department_of_geocode("NUTS3", nuts3)
        assert department is not None and department.insee == insee
        assert department.emma_id == ""  # MeteoAlarm covers Europe only


def test_foreign_and_unknown_codes_name_no_department() -> None:
    assert department_of_geocode("NUTS3", "DE111") is None
    assert department_of_geocode("EMMA_ID", "FR001") is None  # Andorra in MeteoAlarm's table
    assert department_of_geocode("WARNCELLID", "FR711") is None
    geocodes = [("NUTS3", "FR711"), ("EMMA_ID", "FR039"), ("NUTS3", "FR718"), ("CISORP", "1100")]
    assert departments_of_geocodes(geocodes) == {"01", "74"}

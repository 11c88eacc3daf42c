"""The Alpha protocol's bytes, checked by hand-computed examples, round trips and malformed frames."""

from __future__ import annotations

from datetime import datetime, time

import pytest
from PIL import Image

from panel_agent.protocols import alpha as protocol
from panel_agent.protocols.alpha import AlphaError, DotsFileSpec, TextFileSpec

HEAD = b"\x00\x00\x00\x00\x00\x01Z00"


def test_time_set_packet_byte_for_byte() -> None:
    # STX E space 0 9 0 5 ETX: 2+69+32+48+57+48+53+3 = 312 = 0x0138
    assert protocol.time_set_packet(time(9, 5)) == HEAD + b"\x02E 0905\x030138\x04"
    assert protocol.time_set_packet(datetime(2024, 12, 24, 21, 30)) == HEAD + b"\x02E 2130\x030130\x04"


def test_text_file_packet_byte_for_byte() -> None:
    # STX A A ESC " " a H E L L O ETX: 2+65+65+27+32+97 + 72+69+76+76+79 + 3 = 663 = 0x0297
    packet = protocol.text_file_packet("A", "HELLO", position="middle", mode="rotate")
    assert packet == HEAD + b"\x02AA\x1b aHELLO\x030297\x04"


def test_text_file_with_picture_colour_and_font_codes() -> None:
    packet = protocol.text_file_packet(
        "B", "x", picture="P", colour="red", font="seven_high", type_code="^", address="0A"
    )
    body = b"\x02AB\x1b0b\x1a3\x1c1\x14Px\x03"
    assert packet == b"\x00" * 5 + b"\x01^0A" + body + f"{sum(body):04X}".encode() + b"\x04"


def test_dots_packet_byte_for_byte() -> None:
    image = Image.new("P", (3, 2), 0)
    image.putpixel((0, 0), 1)
    image.putpixel((2, 1), 1)
    packet = protocol.dots_packet("P", image, {0: "0", 1: "3"})
    body = b"\x02IP0203300\r003\r\x03"
    assert packet == HEAD + body + f"{sum(body):04X}".encode() + b"\x04"
    head, tail = protocol.split_dots_packet(packet)
    assert head.endswith(b"\x02IP0203") and head + tail == packet


def test_dots_packet_refuses_unmapped_pixels_naming_them() -> None:
    image = Image.new("L", (2, 1), 0)
    image.putpixel((1, 0), 200)
    with pytest.raises(ValueError, match=r"pixel \(1, 0\) is 200"):
        protocol.dots_packet("P", image, {0: "0"})
    with pytest.raises(ValueError, match="not DOTS colours"):
        protocol.dots_packet("P", image, {0: "0", 200: "9"})


def test_memory_config_packet() -> None:
    packet = protocol.memory_config_packet([TextFileSpec("A", 256), DotsFileSpec("P", 96, 16)])
    body = b"\x02E$AAU0100FF00PDU10602000\x03"
    assert packet == HEAD + body + f"{sum(body):04X}".encode() + b"\x04"
    with pytest.raises(ValueError, match="labels must differ"):
        protocol.memory_config_packet([TextFileSpec("A", 8), DotsFileSpec("A", 8, 8)])


@pytest.mark.parametrize(("level", "step"), [(100, "00"), (90, "01"), (72, "02"), (60, "03"), (1, "04")])
def test_brightness_packet_takes_the_nearest_step(level: int, step: str) -> None:
    body = b"\x02E/00" + step.encode() + b"\x03"
    assert protocol.brightness_packet(level) == HEAD + body + f"{sum(body):04X}".encode() + b"\x04"


def test_builders_refuse_bad_headers_and_framing_bytes() -> None:
    with pytest.raises(ValueError, match="address"):
        protocol.time_set_packet(time(1, 2), address="0g")
    with pytest.raises(ValueError, match="type code"):
        protocol.time_set_packet(time(1, 2), type_code="ZZ")
    with pytest.raises(ValueError, match="data byte 1 is 0x03"):
        protocol.build_packet("A", b"A\x03")
    with pytest.raises(ValueError, match="unknown mode"):
        protocol.text_file_packet("A", mode="dance")


def test_parse_round_trip() -> None:
    packets = [
        protocol.text_file_packet("A", "Fête", picture="P", address="1F"),
        protocol.dots_packet("P", Image.new("L", (4, 3), 255), {255: "1"}),
        protocol.memory_config_packet([TextFileSpec("A", 64), DotsFileSpec("P", 96, 16, "mono")]),
        protocol.time_set_packet(time(23, 59)),
        protocol.brightness_packet(58),
    ]
    for packet in packets:
        parsed = protocol.parse_packet(packet)
        (command,) = parsed.commands
        assert packet[command.offset - 2 : command.offset] == b"\x02" + command.code.encode()
        assert packet[command.offset : command.offset + len(command.data)] == command.data
    text = protocol.parse_packet(packets[0])
    assert (text.type_code, text.address, text.commands[0].data) == ("Z", "1F", b"A\x1b0b\x14PF\x08\x28te")
    assert protocol.parse_dots(protocol.parse_packet(packets[1]).commands[0]) == ("P", ["1111"] * 3)
    specs = protocol.parse_memory_config(protocol.parse_packet(packets[2]).commands[0])
    assert specs == [TextFileSpec("A", 64), DotsFileSpec("P", 96, 16, "mono")]


def test_parse_accepts_nested_commands_and_a_packet_without_checksum() -> None:
    nested = HEAD + b"\x02E 1200\x03012D" + b"\x02AA\x1b0bHI\x04"
    parsed = protocol.parse_packet(nested)
    assert [c.code for c in parsed.commands] == ["E", "A"]
    assert parsed.commands[1].data == b"A\x1b0bHI"


@pytest.mark.parametrize(
    ("mutate", "position", "message"),
    [
        (lambda p: p.replace(b"\x01Z", b"\x7fZ"), 5, "expected SOH"),
        (lambda p: p[:7] + b"G" + p[8:], 7, "address"),
        (lambda p: p[:9] + b"\x05" + p[10:], 9, "expected STX"),
        (lambda p: p.replace(b"0905", b"0915"), 17, "checksum 0138 does not match 0139"),
        (lambda p: p.replace(b"0138", b"01x8"), 19, "4 hex digits"),
        (lambda p: p[:-1], 21, "expected STX \\(0x02\\) or EOT"),
        (lambda p: p + b"\x00", 22, "bytes after EOT"),
        (lambda p: p.replace(b"0905", b"09\x815"), 14, "0x81 inside"),
    ],
    ids=[
        "no-soh",
        "bad-address",
        "no-stx",
        "bad-checksum",
        "checksum-not-hex",
        "no-eot",
        "trailing",
        "8-bit",
    ],
)
def test_malformed_frames_are_rejected_with_the_position(mutate, position: int, message: str) -> None:
    good = protocol.time_set_packet(time(9, 5))
    with pytest.raises(AlphaError, match=message) as caught:
        protocol.parse_packet(mutate(good))
    assert caught.value.position == position
    assert str(caught.value).startswith(f"byte {position}: ")


def test_dots_rows_are_checked_against_their_size() -> None:
    command = protocol.Command("I", b"P0202" + b"30\r3\r", 11)
    with pytest.raises(AlphaError, match="row of 1 pixels for a width of 2") as caught:
        protocol.parse_dots(command)
    assert caught.value.position == 11 + 5 + 3


def test_french_letters_use_extended_characters() -> None:
    encoded = protocol.encode_text("Fête à l'été, ça où Ç É")
    assert encoded == (b"F\x08\x28te \x08\x25 l'\x08\x22t\x08\x22, \x08\x27a o\x08\x37 \x08\x20 \x08\x30")
    # Capitals other than Ç and É, and œ « » €, have no code: they fall back to ASCII.
    assert protocol.encode_text("À Œuvre « 2 € »") == b'A OEuvre " 2 EUR "'


def test_fallback_without_extended_characters() -> None:
    text = "Fête de Noël « place Bernard » — vin chaud 2 €, œufs, Ÿ ™\u00a0ok\n"
    assert protocol.encode_text(text, extended_chars=False) == (
        b'Fete de Noel " place Bernard " - vin chaud 2 EUR, oeufs, Y TM ok '
    )
    assert protocol.encode_text("漢\x07") == b"?"

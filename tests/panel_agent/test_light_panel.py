"""A light panel's rotation and proof of play, on a clock the test moves and a client that records."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from panel_agent.agent.play_hours import HOUR_S
from panel_agent.light import LightPanel
from relais import wire
from tests.support.agents import TOPICS, Clocks, full_size_item, sealed

PANEL = "sim-0001"


class RecordingClient:
    """What the panel publishes, topic and payload; always connected."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes]] = []

    def is_connected(self) -> bool:
        return True

    def publish(self, topic: str, payload: bytes, **_: Any) -> None:
        self.published.append((topic, payload))

    def sums(self) -> list[tuple[str, int, int, float, float, float]]:
        return [
            tuple(e.details[k] for k in ("item_id", "hour", "count", "seconds", "first_start", "last_end"))
            for topic, payload in self.published
            if topic == TOPICS.events(PANEL)
            for e in wire.events_from_payload(payload)
            if e.event == wire.EVENT_PLAY_HOURS
        ]


def test_a_light_panel_rotates_and_sums_its_plays_per_hour_as_the_agent_does(
    signing_key: Ed25519PrivateKey,
) -> None:
    hour = 1_800_000_000 // HOUR_S * HOUR_S
    start = hour + HOUR_S - 10  # items 1 and 2 in turn, 5 s each, from 10 s before the hour's end
    clocks = Clocks(start)
    panel = LightPanel(
        PANEL,
        broker_url="mqtt://127.0.0.1:1",
        public_keys=(signing_key.public_key(),),
        topics=TOPICS,
        clock=clocks.time,
    )
    client = RecordingClient()
    panel._client = client
    panel._tally.delay_s = 30.0  # this panel's time after the hour, whatever its id
    schedule = wire.Schedule(
        items=(full_size_item(1), full_size_item(2)),
        segments=(wire.Segment(start, start + HOUR_S, (wire.PlaylistEntry(0), wire.PlaylistEntry(1))),),
        horizon_end=start + 48 * HOUR_S,
    )
    panel.handle_desired(sealed(signing_key, PANEL, 1, schedule, start))
    waits = []
    for _ in range(4):  # item 1 at 0 s, item 2 at 5 s, item 1 at 10 s (the new hour), item 2 at 15 s
        waits.append(panel.turn())
        clocks.advance(5)
    assert waits == [5.0, 5.0, 5.0, 5.0]  # until the next change, as the agent's rotation sleeps
    assert client.sums() == []  # the hour is over, but the panel's time after it is not
    clocks.advance(30)  # the hour's end + 30 s: item 1 comes up again
    panel.turn()
    assert client.sums() == [
        ("item-1", hour, 1, 5.0, start, start + 5),
        ("item-2", hour, 1, 5.0, start + 5, start + 10),
    ]
    panel.sign_off()  # the open hour goes with the goodbye, item 1's showing cut as it began
    assert client.sums()[2:] == [
        ("item-1", hour + HOUR_S, 2, 5.0, start + 10, start + 50),
        ("item-2", hour + HOUR_S, 1, 35.0, start + 15, start + 50),  # as the panel saw it: till +50 s
    ]

"""The wire format, the one definition both the controller and the panel agents import.

Everything the controller sends is a *sealed* message: one text line ``relais/2 Ed25519 <signature>``,
then the body whose exact bytes the controller's Ed25519 key signed, so a panel verifies the bytes it
received instead of a re-serialisation. The body is one line of JSON, then the binary attachments
(frames as PNG) it refers to: no base64, no JSON escaped inside JSON. Panels answer with plain JSON
(state and events): they report, they never command.

    relais/v1/panels/<panel_id>/desired   controller -> panel, retained, sealed: what to show
    relais/v1/panels/<panel_id>/cmd       controller -> panel, not retained, sealed: one-off commands
    relais/v1/panels/<panel_id>/state     panel -> controller, retained, also the last will
    relais/v1/panels/<panel_id>/events    panel -> controller: displays, refusals, acknowledgements

One module a job, each importing only those above it: ``topics`` (names, panel ids), ``fields``
(WireError and the JSON readers), ``frames`` (PNG/WebP, screenshots), ``schedule`` (items, segments,
brightness), ``sealing`` (sign, verify, check freshness), ``commands``, ``reports`` (states, events),
``keys`` (public keys as text). This package re-exports what the rest of Relais uses.
"""

from relais.wire.commands import (
    COMMAND_ARGS,
    COMMAND_BLANK,
    COMMAND_BRIGHTNESS,
    COMMAND_IDENTIFY,
    COMMAND_REFRESH,
    COMMAND_SCREENSHOT,
    COMMAND_TEST_PATTERN,
    MAX_OVERRIDE_S,
    TEST_PATTERNS,
    Command,
    CommandError,
)
from relais.wire.fields import WireError
from relais.wire.frames import SCREENSHOT_MAX_SIZE, Frame, content_hash, encode_png, screenshot_png
from relais.wire.keys import public_key_from_text, public_key_to_text
from relais.wire.reports import (
    EVENT_ACK,
    EVENT_DISPLAYED,
    EVENT_EVENTS_DROPPED,
    EVENT_FAULT,
    EVENT_ON_AIR,
    EVENT_PLAY,
    EVENT_PLAY_HOURS,
    EVENT_REFUSED,
    MAX_EVENTS_BATCH_BYTES,
    MAX_EVENTS_PER_BATCH,
    EventBatch,
    PanelEvent,
    PanelState,
    events_from_payload,
    join_events,
    offline_state,
    read_events,
)
from relais.wire.schedule import (
    FULL_BRIGHTNESS,
    MAX_BRIGHTNESS_STEPS,
    MAX_DWELL_MS,
    MAX_ITEMS,
    MAX_PAGES,
    MAX_SEGMENTS,
    MIN_DWELL_MS,
    BrightnessStep,
    DisplayItem,
    Page,
    PlaylistEntry,
    Schedule,
    Segment,
)
from relais.wire.sealing import (
    KIND_COMMAND,
    KIND_DESIRED,
    PROTOCOL_VERSION,
    SIGN_TOGETHER_FROM,
    SIGNATURE_ALGORITHM,
    Sealed,
    check_addressed,
    check_fresh,
    encode_body,
    envelope,
    read_own_sealed,
    seal,
    seal_groups,
    seal_schedule,
    unseal,
)
from relais.wire.topics import DEFAULT_TOPIC_BASE, MAX_PAYLOAD_BYTES, Topics, check_panel_id

__all__ = [
    "COMMAND_ARGS",
    "COMMAND_BLANK",
    "COMMAND_BRIGHTNESS",
    "COMMAND_IDENTIFY",
    "COMMAND_REFRESH",
    "COMMAND_SCREENSHOT",
    "COMMAND_TEST_PATTERN",
    "DEFAULT_TOPIC_BASE",
    "EVENT_ACK",
    "EVENT_DISPLAYED",
    "EVENT_EVENTS_DROPPED",
    "EVENT_FAULT",
    "EVENT_ON_AIR",
    "EVENT_PLAY",
    "EVENT_PLAY_HOURS",
    "EVENT_REFUSED",
    "FULL_BRIGHTNESS",
    "KIND_COMMAND",
    "KIND_DESIRED",
    "MAX_BRIGHTNESS_STEPS",
    "MAX_DWELL_MS",
    "MAX_EVENTS_BATCH_BYTES",
    "MAX_EVENTS_PER_BATCH",
    "MAX_ITEMS",
    "MAX_OVERRIDE_S",
    "MAX_PAGES",
    "MAX_PAYLOAD_BYTES",
    "MAX_SEGMENTS",
    "MIN_DWELL_MS",
    "PROTOCOL_VERSION",
    "SCREENSHOT_MAX_SIZE",
    "SIGNATURE_ALGORITHM",
    "SIGN_TOGETHER_FROM",
    "TEST_PATTERNS",
    "BrightnessStep",
    "Command",
    "CommandError",
    "DisplayItem",
    "EventBatch",
    "Frame",
    "Page",
    "PanelEvent",
    "PanelState",
    "PlaylistEntry",
    "Schedule",
    "Sealed",
    "Segment",
    "Topics",
    "WireError",
    "check_addressed",
    "check_fresh",
    "check_panel_id",
    "content_hash",
    "encode_body",
    "encode_png",
    "envelope",
    "events_from_payload",
    "join_events",
    "offline_state",
    "public_key_from_text",
    "public_key_to_text",
    "read_events",
    "read_own_sealed",
    "screenshot_png",
    "seal",
    "seal_groups",
    "seal_schedule",
    "unseal",
]

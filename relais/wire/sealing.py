"""Sealed messages (controller -> panel): the controller's Ed25519 signature over the exact body bytes, a
body of one JSON line and its binary attachments; sealed for many panels at once on all the cores,
unsealed and checked for address and freshness by a panel."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from relais.wire.fields import WireError, decode_base64, optional, parse_json, required
from relais.wire.schedule import Schedule
from relais.wire.topics import MAX_PAYLOAD_BYTES, check_panel_id

PROTOCOL_VERSION = 2
SIGNATURE_ALGORITHM = "Ed25519"
SEAL_MAGIC = "relais/"
# The header line is ``relais/2 Ed25519 <88 characters of base64>``: anything longer is not one.
MAX_HEADER_BYTES = 128
KIND_DESIRED = "desired"
KIND_COMMAND = "cmd"


@dataclass(frozen=True)
class Sealed:
    """A verified controller message: signature checked, structure checked, freshness not yet."""

    kind: str
    panel_id: str
    seq: int
    issued_at: int
    expires_at: int
    content: dict[str, Any]
    raw: bytes = field(repr=False, compare=False)

    def desired_schedule(self) -> Schedule:
        """The schedule of a ``desired`` message: what the panel shows, when, until its horizon."""
        return Schedule.from_json(required(self.content, "schedule", dict))


def seal_schedule(
    private_key: Ed25519PrivateKey,
    schedule: Schedule,
    *,
    panel_id: str,
    seq: int,
    issued_at: int,
    expires_at: int,
) -> bytes:
    """A ``desired`` message of ``schedule`` for one panel: what ``Sealed.desired_schedule`` reads back."""
    return seal(
        private_key,
        kind=KIND_DESIRED,
        panel_id=panel_id,
        seq=seq,
        issued_at=issued_at,
        expires_at=expires_at,
        content={"schedule": schedule.to_json()},
    )


def seal(
    private_key: Ed25519PrivateKey,
    *,
    kind: str,
    panel_id: str,
    seq: int,
    issued_at: int,
    expires_at: int,
    content: dict[str, Any],
) -> bytes:
    """Sign ``content`` for one panel; the result is the MQTT payload, byte for byte."""
    [[payload]] = seal_groups(
        private_key,
        kind=kind,
        issued_at=issued_at,
        expires_at=expires_at,
        groups=[(content, [(panel_id, seq)])],
    )
    return payload


def seal_groups(
    private_key: Ed25519PrivateKey,
    *,
    kind: str,
    issued_at: int,
    expires_at: int,
    groups: Sequence[tuple[dict[str, Any], Sequence[tuple[str, int]]]],
) -> list[list[bytes]]:
    """``seal`` each group's content for each of its (panel, sequence number), in that order: a
    department's few hundred distinct schedules at once, each encoded once for all its panels
    (``_bodies``), and the signatures of all the panels shared out among the cores (``_envelopes``)."""
    if expires_at <= issued_at:
        raise ValueError("expires_at must come after issued_at")
    bodies = [_bodies(kind, issued_at, expires_at, content, panels) for content, panels in groups]
    payloads = iter(_envelopes(private_key, [body for group in bodies for body in group]))
    return [[next(payloads) for _ in group] for group in bodies]


def _bodies(
    kind: str, issued_at: int, expires_at: int, content: dict[str, Any], panels: Sequence[tuple[str, int]]
) -> list[bytes]:
    """The body of each panel's message: ``encode_body`` of ``{"v", "kind", "panel", "seq",
    "issued_at", "expires_at", "content"}``, byte for byte, but the content (a department's schedule,
    frames and all) is encoded once for all the panels: only the panel and its number are made for each.
    """
    blobs: dict[bytes, int] = {}
    # Keys in sorted order, as encode_body writes them; only the content holds attachments.
    content_text = _dump(content, blobs)
    lengths = f'"blobs":{_dump([len(blob) for blob in blobs], {})},' if blobs else ""
    head = (
        f'{{{lengths}"content":{content_text},"expires_at":{int(expires_at)},"issued_at":{int(issued_at)},'
        f'"kind":{_dump(kind, {})},"panel":'
    )
    attachments = b"".join(blobs)
    # A checked panel id is its own JSON text between quotes: nothing in it to escape.
    return [
        f'{head}"{check_panel_id(panel_id)}","seq":{int(seq)},"v":{PROTOCOL_VERSION}}}'.encode()
        + b"\n"
        + attachments
        for panel_id, seq in panels
    ]


# Ed25519 signing lets go of the GIL: from this many payloads on, the cores share the signatures.
SIGN_TOGETHER_FROM = 64


def _envelopes(private_key: Ed25519PrivateKey, bodies: list[bytes]) -> list[bytes]:
    """``envelope`` of each body, in order; many on all the cores (up to 4) at once: while a department's
    schedules are being sealed, nothing else keeps the controller's other cores busy."""
    workers = min(4, os.cpu_count() or 1)
    if workers == 1 or len(bodies) < SIGN_TOGETHER_FROM:
        return [envelope(private_key, body) for body in bodies]
    from concurrent.futures import ThreadPoolExecutor  # here: panel agents never seal, and count their memory

    size = -(-len(bodies) // workers)
    parts = [bodies[start : start + size] for start in range(0, len(bodies), size)]
    with ThreadPoolExecutor(len(parts), thread_name_prefix="sign") as pool:
        sealed = pool.map(lambda part: [envelope(private_key, body) for body in part], parts)
        return [payload for part in sealed for payload in part]


def _dump(value: Any, blobs: dict[bytes, int]) -> str:
    """The body's JSON: compact, keys sorted, UTF-8 as it is, each ``bytes`` value a reference to its
    attachment (numbered in order of first use in ``blobs``)."""

    def reference(value: Any) -> dict[str, int]:
        if not isinstance(value, bytes):
            raise TypeError(f"{type(value).__name__} cannot go on the wire")
        return {"blob": blobs.setdefault(value, len(blobs))}

    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=reference)


def encode_body(body: Any) -> bytes:
    """One line of JSON, then every ``bytes`` value found in ``body`` as a binary attachment.

    Each distinct attachment goes once, in order of first use, and the JSON refers to it as
    ``{"blob": <index>}``; ``"blobs"`` lists their lengths. Identical frames therefore travel once.
    """
    blobs: dict[bytes, int] = {}
    text = _dump(body, blobs)
    if blobs:
        # The lengths are known only once the JSON is written; a second pass puts them in it.
        text = _dump({**body, "blobs": [len(blob) for blob in blobs]}, blobs)
    return text.encode("utf-8") + b"\n" + b"".join(blobs)


def envelope(private_key: Ed25519PrivateKey, body: bytes) -> bytes:
    """The header line, with the signature of the exact ``body`` bytes, then the body: the MQTT payload."""
    signature = base64.b64encode(private_key.sign(body)).decode("ascii")
    return f"{SEAL_MAGIC}{PROTOCOL_VERSION} {SIGNATURE_ALGORITHM} {signature}\n".encode("ascii") + body


def unseal(payload: bytes, public_key: Ed25519PublicKey | Sequence[Ed25519PublicKey]) -> Sealed:
    """Check the signature and the structure of a controller message; raise WireError otherwise.

    Several keys are trusted while the controller's key is being rotated: the signature may be by any.
    """
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise WireError("too-large", f"{len(payload)} bytes, the limit is {MAX_PAYLOAD_BYTES}")
    header, newline, body = payload.partition(b"\n")
    if not newline or len(header) > MAX_HEADER_BYTES or not header.startswith(SEAL_MAGIC.encode()):
        _refuse_unsealed(payload)
    fields = header.decode("ascii", errors="replace").split(" ")
    if fields[0] != f"{SEAL_MAGIC}{PROTOCOL_VERSION}":
        raise WireError("unsupported-version", f"protocol {fields[0][len(SEAL_MAGIC) :]!r}")
    if len(fields) != 3 or fields[1] != SIGNATURE_ALGORITHM:
        raise WireError("unsigned", f"unsupported signature algorithm {' '.join(fields[1:2])!r}")
    signature = decode_base64(fields[2], "signature")
    keys = [public_key] if isinstance(public_key, Ed25519PublicKey) else list(public_key)
    if not any(_signed_by(key, signature, body) for key in keys):
        raise WireError("bad-signature", "the signature does not match the controller's key")
    return _sealed(body, payload)


def read_own_sealed(payload: bytes) -> Sealed:
    """A payload the controller sealed, read back from its own database: the structure is checked, the
    signature is not (it never left the controller). Never for anything that came over the network."""
    header, newline, body = payload.partition(b"\n")
    if not newline or not header.startswith(SEAL_MAGIC.encode()):
        raise WireError("malformed", "not a sealed payload")
    return _sealed(body, payload)


def _sealed(body: bytes, payload: bytes) -> Sealed:
    data = _decode_body(body)
    if required(data, "v", int) != PROTOCOL_VERSION:
        raise WireError("unsupported-version", f"protocol version {data.get('v')!r}")
    return Sealed(
        kind=required(data, "kind", str),
        panel_id=required(data, "panel", str),
        seq=required(data, "seq", int),
        issued_at=required(data, "issued_at", int),
        expires_at=required(data, "expires_at", int),
        content=required(data, "content", dict),
        raw=payload,
    )


def _refuse_unsealed(payload: bytes) -> NoReturn:
    """No header line: a protocol 1 envelope (retained from before an upgrade), JSON that nobody
    signed, or bytes that are neither."""
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise WireError(
            "malformed", f"no '{SEAL_MAGIC}{PROTOCOL_VERSION} <algorithm> <signature>' line"
        ) from None
    if isinstance(data, dict) and "sig" in data:
        raise WireError("unsupported-version", f"a JSON envelope of protocol 1, this is {PROTOCOL_VERSION}")
    raise WireError("unsigned", "JSON without a signature line")


def _decode_body(body: bytes) -> Any:
    """The JSON line with each ``{"blob": i}`` replaced by its attachment's bytes, as ``encode_body`` put them."""
    text, newline, attached = body.partition(b"\n")
    if not newline:
        raise WireError("malformed", "the body has no end of line after its JSON")
    data = parse_json(text, "body")
    if not isinstance(data, dict):
        raise WireError("malformed", "the body is not a JSON object")
    lengths = optional(data, "blobs", list) or []
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in lengths):
        raise WireError("malformed", "blobs must be a list of lengths")
    if sum(lengths) != len(attached):
        raise WireError("malformed", f"blobs add up to {sum(lengths)} bytes, {len(attached)} are attached")
    blobs, offset = [], 0
    for length in lengths:
        blobs.append(attached[offset : offset + length])
        offset += length

    def resolve(value: Any) -> Any:
        if isinstance(value, list):
            return [resolve(element) for element in value]
        if not isinstance(value, dict):
            return value
        if value.keys() == {"blob"}:
            index = value["blob"]
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(blobs):
                raise WireError("malformed", f"blob {index!r} is not among {len(blobs)} attachments")
            return blobs[index]
        return {key: resolve(element) for key, element in value.items()}

    try:
        return resolve(data)
    except RecursionError:
        raise WireError("malformed", "the body is nested too deeply") from None


def _signed_by(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def check_addressed(sealed: Sealed, *, panel_id: str, kind: str) -> None:
    """Refuse a genuine message meant for another panel, or of another kind than expected."""
    if sealed.panel_id != panel_id:
        raise WireError("wrong-panel", f"addressed to {sealed.panel_id!r}, this is {panel_id!r}")
    if sealed.kind != kind:
        raise WireError("wrong-kind", f"a {sealed.kind!r} message where {kind!r} was expected")


def check_fresh(sealed: Sealed, *, panel_id: str, kind: str, now: float, last_seq: int) -> None:
    """Refuse a genuine message that is not for us, not of the expected kind, replayed or expired."""
    check_addressed(sealed, panel_id=panel_id, kind=kind)
    if sealed.seq <= last_seq:
        raise WireError("replayed", f"sequence {sealed.seq} is not newer than {last_seq}")
    if now >= sealed.expires_at:
        raise WireError("expired", f"expired at {sealed.expires_at}, now is {int(now)}")

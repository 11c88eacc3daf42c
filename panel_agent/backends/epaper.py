"""E-paper panels: Waveshare e-Paper HATs and Pimoroni Inky boards, through their own libraries.

An e-paper refresh takes seconds, wears the panel and keeps drawing nothing while it runs, so this
backend never redraws the image already shown (it compares a hash of the panel's pixels), uses a
partial refresh where the driver has one but a full one every ``full_refresh_every`` partials and at
least once a day (partials leave ghosts), puts the panel in deep sleep after each update (the makers
ask for it: a powered panel degrades), and bounds each update by ``busy_timeout_s``: the vendors'
busy waits can block for ever on a panel that no longer answers, so the update runs in a worker
thread and a late one raises EpaperBusyTimeout, which the agent reports as a fault.

``driver`` is ``"waveshare:<module>"`` (a module of ``waveshare_epd``, e.g. ``epd7in5_V2``; a "b"
model such as ``epd7in5b_V2`` takes black and red planes), ``"inky:auto"``, ``"inky:what"`` or
``"inky:phat"`` (with ``colour``), or the same prefixed ``simulated-`` for the simulators of
``panel_agent.simulators``. A missing library is refused by ``check_settings``, at config load, with
what to install.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from panel_agent.backends import Backend, BackendSettingError, Capabilities, checks, vendor

WAVESHARE_HINT = (
    "install Waveshare's library: pip install "
    '"git+https://github.com/waveshareteam/e-Paper.git#subdirectory=RaspberryPi_JetsonNano/python"'
)
INKY_HINT = "install Pimoroni's library: pip install inky"
INKY_MODELS = ("auto", "what", "phat")
INKY_COLOURS = ("black", "red", "yellow")
ROTATIONS = {
    0: None,
    90: Image.Transpose.ROTATE_90,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_270,
}
DAY_S = 24 * 3600
# Paper, black ink, red ink: the order of the renderer's e-paper palettes and of Inky's ink numbers.
PALETTE = ((255, 255, 255), (0, 0, 0), (255, 0, 0))
# Waveshare model names: "epd7in5_V2", "epd7in5b_V2", "epd2in13bc"... The letters after the size say
# the colours: none or "d" black and white; "b", "c", "bc" a second ink in a second plane.
_WAVESHARE_MODEL = re.compile(r"^epd\d+in\d+([a-z]*)(_\w+)?$")
_TWO_PLANES = {"b", "c", "bc"}
_ONE_PLANE = {"", "d"}
_KEYS = {"driver", "width", "height", "busy_timeout_s", "full_refresh_every", "rotate", "colour"}
_SIMULATED_KEYS = {"simulated_refresh_s"}


class EpaperBusyTimeout(RuntimeError):
    """The panel stayed busy longer than ``busy_timeout_s``: unplugged, broken, or a wrong driver."""


@dataclass(frozen=True)
class PanelFrame:
    """One image in the panel's inks and orientation: indices 0 paper, 1 black, 2 red, and its planes."""

    indexed: Image.Image
    digest: str

    def plane(self, ink: int) -> Image.Image:
        """A 1-bit image, 0 (black) where ``ink`` goes: what Waveshare's ``getbuffer`` takes."""
        table = bytes(0 if index == ink else 255 for index in range(256))
        grey = Image.frombytes("L", self.indexed.size, self.indexed.tobytes().translate(table))
        return grey.convert("1", dither=Image.Dither.NONE)


class _Panel(Protocol):
    """A vendor's device behind one interface: native size, number of inks, whole updates."""

    width: int
    height: int
    inks: int  # 2 (black and white) or 3 (a red or yellow ink too)
    partial: bool

    def update(self, frame: PanelFrame, *, full: bool) -> None:
        """Wake the panel, send ``frame``, refresh, wait while busy, put it to sleep."""


class _Waveshare:
    def __init__(self, epd: Any, inks: int) -> None:
        self.epd = epd
        self.width, self.height = epd.width, epd.height
        self.inks = inks
        self.partial = inks == 2 and hasattr(epd, "init_part") and hasattr(epd, "display_Partial")

    def update(self, frame: PanelFrame, *, full: bool) -> None:
        epd = self.epd
        if not full:
            _check_init(epd.init_part())
            epd.display_Partial(epd.getbuffer(frame.plane(1)), 0, 0, self.width, self.height)
        else:
            _check_init(epd.init())
            planes = [frame.plane(ink) for ink in range(1, self.inks)]
            epd.display(*(epd.getbuffer(plane) for plane in planes))
        epd.sleep()


class _Inky:
    partial = False

    def __init__(self, board: Any) -> None:
        if board.colour not in INKY_COLOURS:
            raise ValueError(
                f"Inky colour {board.colour!r} is not supported: only black, red and yellow boards"
            )
        self.board = board
        self.width, self.height = board.width, board.height
        self.inks = 2 if board.colour == "black" else 3

    def update(self, frame: PanelFrame, *, full: bool) -> None:
        self.board.set_image(frame.indexed)
        self.board.show()  # Inky's show() ends with the deep-sleep command itself


def _check_init(result: int | None) -> None:
    if result not in (0, None):
        raise RuntimeError(f"the e-paper panel did not initialise (init returned {result})")


def _parse_driver(driver: str) -> tuple[str, str]:
    family, _, model = driver.partition(":")
    if family not in ("waveshare", "inky", "simulated-waveshare", "simulated-inky") or not model:
        raise BackendSettingError(
            "driver",
            f'must be "waveshare:<model>" (e.g. "waveshare:epd7in5_V2"), "inky:auto", "inky:what" or '
            f'"inky:phat", or one of them prefixed "simulated-", not {driver!r}',
        )
    return family, model


def waveshare_inks(model: str) -> int:
    """How many inks (planes) a Waveshare model has, from its name; ValueError for other panels."""
    match = _WAVESHARE_MODEL.match(model)
    if match is None:
        raise ValueError(f"{model!r} is not a Waveshare e-Paper module name such as epd7in5_V2")
    letters = match.group(1)
    if letters in _TWO_PLANES:
        return 3
    if letters in _ONE_PLANE:
        return 2
    raise ValueError(f'{model}: only black-and-white and black/white/red ("b") panels are supported')


class EpaperBackend(Backend):
    """A Waveshare or Inky e-paper panel of ``width`` x ``height`` as frames come (before ``rotate``)."""

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any], *, base_dir: Path) -> dict[str, Any]:
        driver = checks.text(settings, "driver", None)
        family, model = _parse_driver(driver)
        simulated = family.startswith("simulated-")
        checks.check_unknown(settings, _KEYS | (_SIMULATED_KEYS if simulated else set()), "epaper")
        checked: dict[str, Any] = {"driver": driver}
        for key in ("width", "height"):
            checked[key] = checks.integer(settings, key, None, 1, 4096)
        checked["busy_timeout_s"] = checks.seconds(settings, "busy_timeout_s", 30.0, 0.001, 600.0)
        checked["full_refresh_every"] = checks.integer(settings, "full_refresh_every", 10, 0, 1000)
        checked["rotate"] = checks.integer(settings, "rotate", 0, 0, 270)
        if checked["rotate"] not in ROTATIONS:
            raise BackendSettingError("rotate", f"must be 0, 90, 180 or 270, not {checked['rotate']}")
        if family.endswith("inky"):
            if model not in INKY_MODELS:
                raise BackendSettingError(
                    "driver", f"Inky boards are {', '.join(INKY_MODELS)}, not {model!r}"
                )
            if model == "auto" and "colour" in settings:
                raise BackendSettingError("colour", "inky:auto reads the colour from the board itself")
            colour = checks.text(settings, "colour", "black")
            if colour not in INKY_COLOURS:
                raise BackendSettingError(
                    "colour", f"must be one of {', '.join(INKY_COLOURS)}, not {colour!r}"
                )
            checked["colour"] = colour
            if not simulated and not vendor.installed("inky"):
                raise BackendSettingError("driver", f"the inky library is not installed; {INKY_HINT}")
        else:
            if "colour" in settings:
                raise BackendSettingError(
                    "colour", "only for inky:what and inky:phat; a Waveshare model says it"
                )
            try:
                waveshare_inks(model)
            except ValueError as exc:
                raise BackendSettingError("driver", str(exc)) from None
            if simulated:
                from panel_agent.simulators import waveshare_epd

                if model not in waveshare_epd.MODELS:
                    simulated_models = ", ".join(sorted(waveshare_epd.MODELS))
                    raise BackendSettingError(
                        "driver", f"no simulated Waveshare {model}; simulated: {simulated_models}"
                    )
            elif not vendor.installed(f"waveshare_epd.{model}"):
                problem = (
                    f"waveshare_epd has no module {model}"
                    if vendor.installed("waveshare_epd")
                    else f"the waveshare_epd library is not installed; {WAVESHARE_HINT}"
                )
                raise BackendSettingError("driver", problem)
        if simulated:
            checked["simulated_refresh_s"] = checks.seconds(settings, "simulated_refresh_s", 0.5, 0.0, 60.0)
        return checked

    def __init__(self, settings: Mapping[str, Any], *, panel_id: str) -> None:
        self.width = settings["width"]
        self.height = settings["height"]
        self.busy_timeout_s: float = settings["busy_timeout_s"]
        self.full_refresh_every: int = settings["full_refresh_every"]
        self.rotation = ROTATIONS[settings["rotate"]]
        self.clock: Callable[[], float] = time.monotonic  # for the daily full refresh; tests set it
        self.device, self._panel = _open(settings)
        native = (self.width, self.height) if settings["rotate"] in (0, 180) else (self.height, self.width)
        if native != (self._panel.width, self._panel.height):
            raise ValueError(
                f"{settings['driver']} is a {self._panel.width}x{self._panel.height} panel, but the settings "
                f"say {self.width}x{self.height} with rotate = {settings['rotate']}"
            )
        self.capabilities = Capabilities(
            colours="bwr" if self._panel.inks == 3 else "bw",
            partial_refresh=self._panel.partial,
        )
        self._shown: str | None = None  # digest of what is on the panel; None when unknown
        self._partials = 0  # partial refreshes since the last full one
        self._last_full: float | None = None
        self._worker: threading.Thread | None = None

    def display(self, image: Image.Image) -> None:
        if image.size != (self.width, self.height):
            size = f"{image.width}x{image.height}"
            raise ValueError(f"image is {size}, this panel is {self.width}x{self.height}")
        frame = self._to_panel(image)
        if frame.digest == self._shown:
            return
        full = not (
            self._panel.partial
            and self._shown is not None
            and self._partials < self.full_refresh_every
            and self._last_full is not None
            and self.clock() - self._last_full < DAY_S
        )
        self._shown = None  # unknown until the update is over
        self._run(lambda: self._panel.update(frame, full=full))
        self._shown = frame.digest
        if full:
            self._partials, self._last_full = 0, self.clock()
        else:
            self._partials += 1

    def _to_panel(self, image: Image.Image) -> PanelFrame:
        """``image`` in the panel's inks (each colour to the nearest ink) and native orientation."""
        palette = PALETTE[: self._panel.inks]
        if image.mode != "P":
            reference = Image.new("P", (1, 1))
            reference.putpalette([channel for colour in palette for channel in colour])
            image = image.convert("RGB").quantize(palette=reference, dither=Image.Dither.NONE)
        colours = image.getpalette() or []
        colours += [0] * (768 - len(colours))
        table = bytes(_nearest(palette, tuple(colours[3 * index : 3 * index + 3])) for index in range(256))
        indexed = Image.frombytes("P", image.size, image.tobytes().translate(table))
        indexed.putpalette([channel for colour in palette for channel in colour])
        if self.rotation is not None:
            indexed = indexed.transpose(self.rotation)
        digest = hashlib.sha256(f"{indexed.size}{len(palette)}".encode() + indexed.tobytes()).hexdigest()
        return PanelFrame(indexed, digest)

    def close(self) -> None:
        """Let an update in progress finish (within the timeout): power cut mid-refresh harms the panel."""
        if self._worker is not None:
            self._worker.join(self.busy_timeout_s)

    def _run(self, update: Callable[[], None]) -> None:
        """Run ``update`` in a worker thread; EpaperBusyTimeout if it is not over in time."""
        if self._worker is not None and self._worker.is_alive():
            raise EpaperBusyTimeout("the panel is still busy with an update that timed out before")
        failure: list[BaseException] = []

        def work() -> None:
            try:
                update()
            except BaseException as exc:  # handed to the caller's thread below
                failure.append(exc)

        self._worker = threading.Thread(target=work, name="epaper-update", daemon=True)
        self._worker.start()
        self._worker.join(self.busy_timeout_s)
        if self._worker.is_alive():
            raise EpaperBusyTimeout(f"the panel was still busy after {self.busy_timeout_s:g} s")
        if failure:
            raise failure[0]


def _nearest(palette: tuple[tuple[int, int, int], ...], rgb: tuple[int, ...]) -> int:
    """Index of the ink nearest ``rgb``; ties go to the lower index (paper, then black)."""
    return min(
        range(len(palette)),
        key=lambda i: (sum((a - b) ** 2 for a, b in zip(palette[i], rgb, strict=True)), i),
    )


def _open(settings: Mapping[str, Any]) -> tuple[Any, _Panel]:
    """The vendor's device object (or its simulator) for ``settings["driver"]``, and its adapter."""
    family, model = _parse_driver(settings["driver"])
    if family == "waveshare":
        module = vendor.load(f"waveshare_epd.{model}", WAVESHARE_HINT)
        epd = module.EPD()
        return epd, _Waveshare(epd, waveshare_inks(model))
    if family == "simulated-waveshare":
        from panel_agent.simulators import waveshare_epd

        epd = waveshare_epd.create(model, refresh_s=settings["simulated_refresh_s"])
        return epd, _Waveshare(epd, waveshare_inks(model))
    if family == "inky":
        if model == "auto":
            board = vendor.load("inky.auto", INKY_HINT).auto()
        else:
            inky = vendor.load("inky", INKY_HINT)
            board = {"what": inky.InkyWHAT, "phat": inky.InkyPHAT}[model](settings["colour"])
        return board, _Inky(board)
    from panel_agent.simulators import inky as simulated_inky

    refresh_s = settings["simulated_refresh_s"]
    if model == "auto":
        board = simulated_inky.auto(refresh_s=refresh_s)
    else:
        factory = {"what": simulated_inky.InkyWHAT, "phat": simulated_inky.InkyPHAT}[model]
        board = factory(settings["colour"], refresh_s=refresh_s)
    return board, _Inky(board)

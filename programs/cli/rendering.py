"""``relais profiles``, ``relais layouts`` and ``relais render``: the catalogue, and a message rendered
into PNG files without a database or a broker."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from programs.cli.common import Commands, add_command


def cmd_profiles(args: argparse.Namespace) -> int:
    from controller.rendering.catalogue import profiles_table

    print(profiles_table())
    return 0


def cmd_layouts(args: argparse.Namespace) -> int:
    from controller.rendering.catalogue import layouts_table

    print(layouts_table(args.profile))
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    """Render without a database or a broker: for designers, and to check a text before queuing it."""
    import time

    from controller.domain.messages import parse_content, render_for
    from controller.rendering.preview import preview_png
    from controller.rendering.profiles import get_profile

    data: dict[str, Any] = {
        "text": args.text,
        "title": args.title,
        "footer": args.footer,
        "layout": args.layout,
        "pictogram": args.pictogram,
        "qr": args.qr,
        "markup": args.markup,
        "role": args.role,
        "paging": not args.no_paging,
    }
    if args.image is not None:
        import base64

        data["image"] = base64.b64encode(args.image.read_bytes()).decode("ascii")
    rendering = render_for(parse_content(data, time.time()), get_profile(args.profile))
    args.out.mkdir(parents=True, exist_ok=True)
    for number, page in enumerate(rendering.pages, start=1):
        (args.out / f"page-{number}.png").write_bytes(page.frame.png_bytes())
        if page.flash_frame is not None:
            (args.out / f"page-{number}-flash.png").write_bytes(page.flash_frame.png_bytes())
        lines = page.text.replace("\n", " / ")
        flashing = ", clignote" if page.flash_frame else ""
        print(f"page {number}/{len(rendering.pages)}: {page.dwell_s:g} s{flashing} | {lines}")
    (args.out / "preview.png").write_bytes(preview_png(rendering))
    for note in rendering.notes:
        print(f"note: {note}")
    print(f"{len(rendering.pages)} page(s) written to {args.out} (page-N.png native, preview.png)")
    return 0


def add_commands(commands: Commands) -> None:
    add_command(
        commands, "profiles", cmd_profiles, "List the shipped panel profiles (sizes, colours, legibility)."
    )
    layouts = add_command(
        commands, "layouts", cmd_layouts, "List the shipped layouts and which profiles they suit."
    )
    layouts.add_argument("--profile", default=None, help="only the layouts that suit this profile")
    render = add_command(
        commands, "render", cmd_render, "Render a message for a profile into PNG files, without publishing."
    )
    render.add_argument("--profile", required=True, help="profile id (relais profiles)")
    render.add_argument("--layout", default="text", help="layout name (relais layouts; default text)")
    render.add_argument("--text", required=True, help="the message body, with markup")
    render.add_argument("--title", default="", help="title, for layouts that have one")
    render.add_argument("--footer", default="", help="footer, for layouts that have one")
    render.add_argument("--pictogram", default=None, help="pictogram name, for layouts that have one")
    render.add_argument("--qr", default=None, help="text or link for the QR code (bulletin)")
    render.add_argument(
        "--image", type=Path, default=None, help="an image file, for layouts with an image zone"
    )
    render.add_argument(
        "--markup",
        default="relais",
        choices=["plain", "relais", "multi"],
        help="markup of the text (default relais)",
    )
    render.add_argument(
        "--role", default="normal", choices=["normal", "warning", "emergency"], help="colours by role"
    )
    render.add_argument(
        "--no-paging", action="store_true", help="refuse a text that needs more than one page"
    )
    render.add_argument("--out", type=Path, required=True, help="folder for page-N.png and preview.png")

"""QR codes for a link on a panel: crisp whole-pixel modules, or a refusal naming the size needed.

Error correction M, without segno's automatic boost, so that the same text always gives the same
symbol whatever the library's heuristics; a quiet zone of 2 modules (smaller than the standard 4: a
panel's frame is dark or plain around it, and every pixel counts on an LED board).
"""

from __future__ import annotations

import segno
from PIL import Image

QUIET_ZONE = 2


class QrError(ValueError):
    """The QR code cannot be made, or not in the room given; the message is in French."""


def qr_image(data: str, max_side: int, *, min_module_px: int = 2) -> Image.Image:
    """The QR code of ``data`` as a mode "1" image (1 = dark), with the largest whole module that fits
    ``max_side``; the image is square and no larger than needed."""
    if not data:
        raise QrError("QR code vide")
    if min_module_px < 1:
        raise QrError(f"taille de module invalide : {min_module_px} px")
    try:
        code = segno.make(data, error="m", boost_error=False, micro=False)
    except segno.DataOverflowError as error:
        raise QrError(f"texte trop long pour un QR code ({len(data)} caractères)") from error
    modules = int(code.symbol_size(scale=1, border=QUIET_ZONE)[0])  # whole at scale 1
    module_px = max_side // modules
    if module_px < min_module_px:
        needed = modules * min_module_px
        raise QrError(
            f"le QR code ne tient pas : il faut {needed}x{needed} pixels "
            f"({modules} modules de {min_module_px} px), la place est de {max_side} px"
        )
    image = Image.new("1", (modules, modules), 0)
    for row, line in enumerate(code.matrix):
        for column, dark in enumerate(line):
            if dark:
                image.putpixel((column + QUIET_ZONE, row + QUIET_ZONE), 1)
    return image.resize((modules * module_px, modules * module_px), Image.Resampling.NEAREST)

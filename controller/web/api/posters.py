"""/messages/<id>/poster.pdf: a message as an A4 or A3 poster, for whoever may read the message."""

from __future__ import annotations

import time

from flask import Blueprint, Response, request

from controller.domain.access import Permission
from controller.domain.errors import FieldError
from controller.domain.messages import fetch_message, reached_panels
from controller.domain.public import applies_when, message_item, poster_place
from controller.rendering.poster import SIZES, PosterWords, poster_pdf
from controller.storage.public_store import known_places
from controller.web.api.messages import visible_message
from controller.web.auth import requires
from controller.web.context import get_db
from controller.web.public import count_today

bp = Blueprint("posters", __name__)


@bp.get("/messages/<int:message_id>/poster.pdf")
@requires(Permission.MESSAGES_VIEW)
def message_poster(message_id: int) -> Response:
    """The commune's name, the words, when they apply and a QR code to the commune's public page."""
    size = request.args.get("size", "A4")
    if size not in SIZES:
        raise FieldError("size", "must be one of {choices}", choices=", ".join(SIZES))
    visible_message(message_id)  # another commune's message is absent
    db, now = get_db(), time.time()
    reached = [commune for _panel, commune in reached_panels(db, [message_id])[message_id]]
    communes, _tags = known_places(db)
    row = fetch_message(db, message_id)
    place = poster_place(row["commune_insee"], reached, communes)
    item = message_item({**row, "communes": [(insee, communes[insee]) for insee in reached], "tags": []}, now)
    when = applies_when(item)
    words = PosterWords(
        commune=place.name,
        title=item.title,
        text=item.text,
        when=when[0].upper() + when[1:],
        url=request.url_root.rstrip("/") + place.path,
    )
    count_today(place, "poster")
    return Response(
        poster_pdf(words, size),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="affiche-{message_id}-{size}.pdf"'},
    )

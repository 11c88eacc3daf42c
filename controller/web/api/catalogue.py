"""What a message can be drawn with: the panels' profiles, the layouts (and the profiles each suits),
the pictograms."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Response, jsonify

from controller.domain.access import Permission
from controller.rendering.layouts import load_layouts
from controller.rendering.pictograms import PICTOGRAMS
from controller.rendering.profiles import load_profiles
from controller.web.auth import requires

bp = Blueprint("catalogue", __name__)


@bp.get("/profiles")
@requires(Permission.PANELS_VIEW)
def profiles() -> Response:
    return jsonify({"profiles": [asdict(profile) for profile in load_profiles().values()]})


@bp.get("/layouts")
@requires(Permission.PANELS_VIEW)
def layouts() -> Response:
    return jsonify(
        {
            "layouts": [
                {
                    "name": layout.name,
                    "label": layout.label,
                    "description": layout.description,
                    "zones": [zone.content for zone in layout.zones],
                    "fields": list(layout.fields),
                    "profiles": [profile.id for profile in load_profiles().values() if layout.suits(profile)],
                }
                for layout in load_layouts().values()
            ]
        }
    )


@bp.get("/pictograms")
@requires(Permission.PANELS_VIEW)
def pictograms() -> Response:
    return jsonify({"pictograms": [{"name": name, "label": label} for name, label in PICTOGRAMS.items()]})

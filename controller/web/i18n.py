"""French first, English on request: Flask-Babel, the language switch and the strings the pages' scripts use.

The choice lives in a cookie, so it survives logging out and is the same on the login page.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from babel.support import NullTranslations, Translations
from flask import Blueprint, Flask, redirect, request, url_for
from flask_babel import Babel, get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from controller.dates import PARIS, format_when, parse_iso

LANGUAGES = ("fr", "en")
LANG_COOKIE = "relais_lang"
TRANSLATIONS = Path(__file__).parent / "translations"
# The API's error messages: English templates (the CLI's words), translated in the "errors" domain.
ERRORS_DOMAIN = "errors"

babel = Babel()
bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    return chosen if chosen in LANGUAGES else LANGUAGES[0]


def current_language() -> str:
    return str(get_locale() or LANGUAGES[0])


def client_language() -> str:
    """The API's language: what the client asks for (``Accept-Language``; the pages send theirs), French
    when it asks for none we speak."""
    return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]


@cache
def _error_catalogue(language: str) -> NullTranslations:
    return Translations.load(str(TRANSLATIONS), [language], domain=ERRORS_DOMAIN)


def error_text(template: str, params: Mapping[str, object], language: str | None = None) -> str:
    """An error's English template in ``language`` (the API client's unless given: a page gives its own),
    its ``{name}`` placeholders filled in."""
    translated = _error_catalogue(language or client_language()).gettext(template)
    return translated.format(**params) if params else translated


@bp.get("/langue/<lang>")
def switch(lang: str) -> Response:
    """A plain link (no form): choosing a language changes nothing on the server."""
    target = request.args.get("next") or ""
    if not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        target = url_for("web.index")
    response = redirect(target)
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def _when(iso: str | None) -> str:
    return format_when(parse_iso(iso), current_language())


def script_strings() -> dict[str, str]:
    """What app.js writes into pages, translated for this request (keys are stable names)."""
    return {
        "never": _("jamais"),
        "online": _("en ligne"),
        "offline": _("hors ligne"),
        "state_unknown": _("état inconnu"),
        "last_known": _("Le contrôleur est coupé du courtier ; dernier état connu :"),
        "nothing": _("rien"),
        "saved": _("Enregistré."),
        "refused": _("Refusé :"),
        "network": _("Le serveur ne répond pas ; réessayez."),
        "preview_of": _("Aperçu sur"),
        "shows_now": _("Ce que le panneau affiche :"),
        "on_air_alt": _("À l’antenne d’après le programme signé :"),
        "on_air_none": _("Aucun programme signé pour ce panneau."),
        "on_air_blank": _("rien : le programme éteint le panneau"),
        "on_air_page": _("page %(page)s sur %(pages)s", page="{page}", pages="{pages}"),
        "on_air_until": _("jusqu’à %(time)s", time="{time}"),
        "on_air_source": _("d’après le programme signé"),
        "on_air_behind": _(
            "Le panneau n’a pas encore appliqué ce programme : il affiche ce qu’il a signalé."
        ),
        "on_air_command": _(
            "Le panneau affiche à la place « %(command)s » jusqu’à %(time)s (commande d’un technicien).",
            command="{command}",
            time="{time}",
        ),
        "override_blank": _("écran éteint"),
        "override_test_pattern": _("mire"),
        "override_identify": _("identification"),
        "reported_at": _("Signalé par le panneau le %(when)s : %(what)s", when="{when}", what="{what}"),
        "reported_never": _("Le panneau n’a encore rien signalé."),
        "alert_label": _("Alerte : %(text)s", text="{text}"),
        "fallback_label": _("%(text)s (repli)", text="{text}"),
        "runs_between": _("du %(start)s au %(end)s", start="{start}", end="{end}"),
        "runs_from": _("à partir du %(start)s, sans fin", start="{start}"),
        "runs_hours": _("de %(start)s à %(end)s", start="{start}", end="{end}"),
        "and": _(" et "),
        "every_day": _("tous les jours"),
        "queued": _("Message n° %(id)s programmé sur %(count)s panneau(x).", id="{id}", count="{count}"),
        "acknowledged": _("acquittée"),
        "failed": _("refusée par le panneau"),
        "waiting_ack": _("en attente d’acquittement"),
        "confirm_cancel": _("Annuler définitivement ce message ?"),
        "confirm_stop": _("Arrêter cette campagne sur tous les panneaux ?"),
        "none": _("Aucun."),
        "all_day": _("toute la journée"),
        "accepted": _("acceptée"),
        "declined": _("refusée"),
        "invited": _("en attente de réponse"),
        "pause": _("Suspendre"),
        "resume": _("Reprendre"),
        "cancel": _("Annuler"),
        "edit": _("Modifier"),
        "approve": _("Valider"),
        "reject": _("Rejeter"),
        "reason": _("Motif du rejet"),
        "update_pending": _("mise à jour en attente"),
        "live_lost": _("Connexion perdue, reconnexion…"),
        "live_ok": _("Mise à jour en direct"),
        "token_once": _("Copiez ce jeton maintenant : il ne sera plus affiché."),
        "revoke": _("Révoquer"),
        "disable": _("Désactiver"),
        "enable": _("Réactiver"),
    }


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LANGUAGES[0])
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", PARIS.key)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters["when"] = _when
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["script_strings"] = script_strings
    app.register_blueprint(bp)

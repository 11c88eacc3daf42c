"""Logging in and out of the web app, with a rate limit on attempts."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from controller.domain.accounts import authenticate, find_user
from controller.storage.db import transaction
from controller.web.auth import SessionUser, end_sessions
from controller.web.context import get_db

bp = Blueprint("login", __name__)
# In memory: one controller process serves the app; a restart forgets the counts, which is acceptable.
limiter = Limiter(key_func=get_remote_address, storage_uri="memory://", default_limits=[])
LOGIN_LIMIT = "10 per minute"


class LoginForm(FlaskForm):
    name = StringField("Identifiant", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Mot de passe", validators=[DataRequired(), Length(max=256)])


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never send a user who just logged in to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return url_for("web.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
def login() -> str | Response | tuple[str, int]:
    form = LoginForm()
    if form.validate_on_submit():
        actor = authenticate(get_db(), form.name.data or "", form.password.data or "")
        row = None if actor is None else find_user(get_db(), actor.user_id)
        if row is not None:  # None too if the account was deleted since ``authenticate`` read it
            login_user(SessionUser.of(row))
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors = [_("Identifiant ou mot de passe incorrect.")]
        return render_template("login.html", form=form), 401
    return render_template("login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    """Ends the session on the server too: a copy of the cookie (another tab, a stolen one) is dead."""
    if current_user.is_authenticated:
        with transaction(get_db()) as db:
            end_sessions(db, current_user.actor.user_id)
    logout_user()
    return redirect(url_for("login.login"))

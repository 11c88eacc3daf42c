"""Accounts: users with a role (and a commune for commune roles), their organisations and API tokens.

Passwords are stored as Werkzeug's salted scrypt hashes; tokens are shown once and stored only as a
SHA-256 hash, so a copy of the database gives neither away.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from typing import Any

from sqlite_utils import Database
from werkzeug.security import check_password_hash, generate_password_hash

from controller.domain.access import Actor, Role, check_role_scope
from controller.domain.errors import FieldError
from controller.domain.panels import commune_names
from controller.storage.db import insert_row, transaction

TOKEN_PREFIX = "rls_"
MIN_PASSWORD_LENGTH = 12
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
_INSEE = re.compile(r"^(\d[\dAB]\d{3})$")
# Checked against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_password() -> str:
    return secrets.token_urlsafe(15)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise FieldError(
            "password",
            "must have at least {min_password_length} characters",
            min_password_length=MIN_PASSWORD_LENGTH,
        )


def _check_organisation(organisation: Any) -> None:
    if not isinstance(organisation, str) or not _NAME.match(organisation):
        raise FieldError("organisation", "an organisation id: 2 to 64 letters, digits, '.', '_', '@' or '-'")


def _check_commune(commune_insee: Any) -> None:
    if commune_insee is not None and (not isinstance(commune_insee, str) or not _INSEE.match(commune_insee)):
        raise FieldError(
            "commune",
            "{commune_insee!r} is not an INSEE commune code (5 characters, like 01053)",
            commune_insee=commune_insee,
        )


def ensure_organisation(db: Database, org_id: str, commune_insee: str | None = None) -> None:
    """Create the organisation the first time a user names it; a commune's takes the commune's name from
    its panels (« Commune 01053 » only while the commune has none)."""
    if db["organisations"].count_where("id = ?", [org_id]):
        return
    name = org_id
    if commune_insee and org_id == f"commune-{commune_insee}":
        name = commune_names(db, [commune_insee]).get(commune_insee) or f"Commune {commune_insee}"
    db.table("organisations").insert(
        {"id": org_id, "name": name, "commune_insee": commune_insee, "created_at": int(time.time())}
    )


def approval_required(db: Database, org_id: str | None, kind: str) -> bool:
    """Whether the organisation wants a second person before its ``kind`` ("messages", "alerts") go on air."""
    if org_id is None:
        return False
    column = {"messages": "messages_need_approval", "alerts": "alerts_need_approval"}[kind]
    row = db.execute(f"select {column} from organisations where id = ?", [org_id]).fetchone()
    return bool(row and row[0])


def create_user(
    db: Database,
    name: object,
    role: object,
    password: str | None,
    commune_insee: str | None = None,
    organisation: str | None = None,
) -> int:
    """Add a user; a commune user belongs to ``commune-<INSEE>`` unless another organisation is named.

    ``password`` None makes an account that can use tokens but not log in until one is set. Name and
    role are checked here, whatever a request sent: each wrong one is a FieldError naming it.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise FieldError(
            "name", "2 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
        )
    if not isinstance(role, str) or role not in {r.value for r in Role}:
        raise FieldError("role", "must be one of: {choices}", choices=", ".join(r.value for r in Role))
    user_role = Role(role)
    _check_commune(commune_insee)
    check_role_scope(user_role, commune_insee)
    if organisation is not None:
        _check_organisation(organisation)
    if password is not None:
        _check_password(password)
    if db["users"].count_where("name = ?", [name]):
        raise FieldError("name", "a user named {name!r} exists already", status=409, name=name)
    org = organisation or (f"commune-{commune_insee}" if commune_insee else None)
    if org is not None:
        ensure_organisation(db, org, commune_insee)
    return insert_row(
        db,
        "users",
        {
            "name": name,
            "role": user_role.value,
            "organisation": org,
            "commune_insee": commune_insee,
            "password_hash": None if password is None else generate_password_hash(password),
            "created_at": int(time.time()),
        },
    )


def set_password(db: Database, user_id: int, password: str) -> None:
    """A new password also logs out every browser session of the user."""
    _check_password(password)
    db.execute(
        "update users set password_hash = ?, session_epoch = session_epoch + 1 where id = ?",
        [generate_password_hash(password), user_id],
    )


def actor_from_row(row: dict[str, Any]) -> Actor:
    return Actor(
        user_id=row["id"],
        name=row["name"],
        role=Role(row["role"]),
        organisation=row["organisation"],
        commune_insee=row["commune_insee"],
    )


def find_user(db: Database, user_id: int) -> dict[str, Any] | None:
    """An enabled user by id, or None."""
    rows = list(db["users"].rows_where("id = ? and disabled_at is null", [user_id]))
    return rows[0] if rows else None


def user_by_name(db: Database, name: str) -> dict[str, Any] | None:
    rows = list(db["users"].rows_where("name = ?", [name]))
    return rows[0] if rows else None


def authenticate(db: Database, name: str, password: str) -> Actor | None:
    """The actor behind a name and password, or None; the same work whether or not the name exists."""
    row = user_by_name(db, name)
    stored = row["password_hash"] if row and row["password_hash"] and row["disabled_at"] is None else None
    matches = check_password_hash(stored or _DUMMY_HASH, password)
    if row is None or stored is None or not matches:
        return None
    return actor_from_row(row)


def create_token(db: Database, user_id: int, label: object, now: float | None = None) -> tuple[int, str]:
    """A new token for a user's scripts: (its id, the token, shown only this once); ``label`` is
    checked here, whatever a request sent."""
    if not isinstance(label, str) or not label.strip():
        raise FieldError("label", "a token needs the name of who or what uses it")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = insert_row(
        db,
        "api_tokens",
        {
            "name": label.strip(),
            "token_hash": _hash_token(token),
            "created_at": int(now or time.time()),
            "user_id": user_id,
        },
    )
    return token_id, token


def token_actor(db: Database, token: str) -> Actor | None:
    """The enabled user behind a valid, unrevoked token, or None."""
    row = db.execute(
        """select u.* from api_tokens t join users u on u.id = t.user_id
           where t.token_hash = ? and t.revoked_at is null and u.disabled_at is null""",
        [_hash_token(token)],
    ).fetchone()
    if row is None:
        return None
    columns = [d[0] for d in db.execute("select * from users limit 0").description]
    return actor_from_row(dict(zip(columns, row, strict=True)))


def list_tokens(db: Database, user_id: int | None = None) -> list[dict[str, Any]]:
    """Tokens without their secret: of one user, or of everyone."""
    where, params = ("where t.user_id = ?", [user_id]) if user_id is not None else ("", [])
    return [
        {"id": r[0], "label": r[1], "user": r[2], "created_at": r[3], "revoked_at": r[4]}
        for r in db.execute(
            f"""select t.id, t.name, u.name, t.created_at, t.revoked_at
                from api_tokens t left join users u on u.id = t.user_id {where} order by t.id""",
            params,
        ).fetchall()
    ]


def revoke_token(db: Database, token_id: int, now: float | None = None) -> None:
    db.table("api_tokens").update(token_id, {"revoked_at": int(now or time.time())})


# --- administration: what the admin API changes, checked here so the rules hold for every caller ------

USER_CHANGES = ("role", "commune", "organisation", "password", "disabled")
ORGANISATION_CHANGES = ("name", "messages_need_approval", "alerts_need_approval")


def _default_organisation(commune_insee: str | None) -> str | None:
    return None if commune_insee is None else f"commune-{commune_insee}"


def user_summary(row: dict[str, Any]) -> dict[str, Any]:
    """A user as the API and the audit log show them: never the password hash."""
    return {
        "id": row["id"],
        "name": row["name"],
        "role": row["role"],
        "organisation": row["organisation"],
        "commune": row["commune_insee"],
        "password_set": row["password_hash"] is not None,
        "disabled": row["disabled_at"] is not None,
        "disabled_at": row["disabled_at"],
        "created_at": row["created_at"],
    }


def plan_user_change(
    user: dict[str, Any], changes: dict[str, Any], other_enabled_admins: int
) -> dict[str, Any]:
    """The user's columns after ``changes`` (a PATCH body), or a FieldError naming the field at fault.

    Pure, so that the rules (role and commune go together, the last enabled administrator stays one)
    are tested without a database. A commune user whose commune changes follows it to the new commune's
    organisation unless an organisation is given.
    """
    unknown = sorted(set(changes) - set(USER_CHANGES))
    if unknown:
        raise FieldError(
            unknown[0], "cannot be changed; give any of: {choices}", choices=", ".join(USER_CHANGES)
        )
    try:
        role = Role(changes.get("role", user["role"]))
    except (ValueError, TypeError):
        raise FieldError(
            "role", "must be one of: {choices}", choices=", ".join(r.value for r in Role)
        ) from None
    commune = changes.get("commune", user["commune_insee"])
    _check_commune(commune)
    check_role_scope(role, commune)
    if "organisation" in changes:
        organisation = changes["organisation"]
        if organisation is None:
            organisation = _default_organisation(commune)
        else:
            _check_organisation(organisation)
    elif user["organisation"] == _default_organisation(user["commune_insee"]):
        organisation = _default_organisation(commune)
    else:
        organisation = user["organisation"]
    disabled = changes.get("disabled", user["disabled_at"] is not None)
    if not isinstance(disabled, bool):
        raise FieldError("disabled", "must be true or false")
    if "password" in changes:
        if not isinstance(changes["password"], str):
            raise FieldError("password", "must be a string")
        _check_password(changes["password"])
    last_admin = user["role"] == Role.ADMIN and user["disabled_at"] is None and other_enabled_admins == 0
    if last_admin and disabled:
        raise FieldError("disabled", "this is the last enabled administrator: enable another first", 409)
    if last_admin and role != Role.ADMIN:
        raise FieldError("role", "this is the last enabled administrator: make another one first", 409)
    return {"role": role.value, "commune_insee": commune, "organisation": organisation, "disabled": disabled}


def get_user(db: Database, user_id: int) -> dict[str, Any]:
    """A user, enabled or not; 404 otherwise."""
    rows = list(db["users"].rows_where("id = ?", [user_id]))
    if not rows:
        raise FieldError("user_id", "no user {user_id}", status=404, user_id=user_id)
    return rows[0]


def list_users(db: Database, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """One page of users by name, and how many there are."""
    rows = list(db["users"].rows_where(order_by="name", limit=limit, offset=offset))
    return [user_summary(row) for row in rows], db["users"].count


def update_user(
    db: Database, user_id: int, changes: dict[str, Any], now: float | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply a PATCH; return the user before and after. Disabling revokes the user's tokens there and then

    (and the session loader refuses disabled users), so a departed user's scripts stop at once and a
    later re-enabling does not bring old tokens back.
    """
    row = get_user(db, user_id)
    other_admins = db["users"].count_where(
        "role = ? and disabled_at is null and id != ?", [Role.ADMIN.value, user_id]
    )
    plan = plan_user_change(row, changes, other_admins)
    values: dict[str, Any] = {key: plan[key] for key in ("role", "commune_insee", "organisation")}
    if plan["organisation"] is not None:
        ensure_organisation(db, plan["organisation"], plan["commune_insee"])
    stamp = int(now or time.time())
    revoked: list[int] = []
    if plan["disabled"] and row["disabled_at"] is None:
        values["disabled_at"] = stamp
        revoked = [
            r[0]
            for r in db.execute(
                "select id from api_tokens where user_id = ? and revoked_at is null", [user_id]
            ).fetchall()
        ]
        db.execute(
            "update api_tokens set revoked_at = ? where user_id = ? and revoked_at is null", [stamp, user_id]
        )
    elif not plan["disabled"]:
        values["disabled_at"] = None
    if "password" in changes:
        values["password_hash"] = generate_password_hash(changes["password"])
    if "password" in changes or values.get("disabled_at") is not None:
        values["session_epoch"] = row["session_epoch"] + 1  # every browser logged in as them is logged out
    db.table("users").update(user_id, values)
    after = user_summary(get_user(db, user_id))
    if "password" in changes:
        after["password_changed"] = True
    if revoked:
        after["tokens_revoked"] = revoked
    return user_summary(row), after


def find_token(db: Database, token_id: int) -> dict[str, Any] | None:
    """A token without its secret, with the id and name of its user."""
    row = db.execute(
        """select t.id, t.name, t.user_id, u.name, t.created_at, t.revoked_at
           from api_tokens t left join users u on u.id = t.user_id where t.id = ?""",
        [token_id],
    ).fetchone()
    if row is None:
        return None
    keys = ("id", "label", "user_id", "user", "created_at", "revoked_at")
    return dict(zip(keys, row, strict=True))


def organisation_summary(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "commune": row["commune_insee"],
        "messages_need_approval": bool(row["messages_need_approval"]),
        "alerts_need_approval": bool(row["alerts_need_approval"]),
        "created_at": row["created_at"],
    }


def list_organisations(
    db: Database, limit: int, offset: int, only: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """One page of organisations by id (``only``: just that one, for a commune user), and the total."""
    where, params = ("id = ?", [only]) if only is not None else (None, [])
    rows = db["organisations"].rows_where(where, params, order_by="id", limit=limit, offset=offset)
    return [organisation_summary(row) for row in rows], db["organisations"].count_where(where, params)


def plan_organisation_change(changes: dict[str, Any]) -> dict[str, Any]:
    """The columns a PATCH of an organisation sets, or a FieldError naming the field at fault."""
    unknown = sorted(set(changes) - set(ORGANISATION_CHANGES))
    if unknown:
        raise FieldError(
            unknown[0], "cannot be changed; give any of: {choices}", choices=", ".join(ORGANISATION_CHANGES)
        )
    values: dict[str, Any] = {}
    if "name" in changes:
        name = changes["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise FieldError("name", "must be a non-empty text of at most 200 characters")
        values["name"] = name.strip()
    for flag in ("messages_need_approval", "alerts_need_approval"):
        if flag in changes:
            if not isinstance(changes[flag], bool):
                raise FieldError(flag, "must be true or false")
            values[flag] = int(changes[flag])
    return values


def update_organisation(
    db: Database, org_id: str, changes: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Rename an organisation or change whether it needs a second person; return it before and after."""
    rows = list(db["organisations"].rows_where("id = ?", [org_id]))
    if not rows:
        raise FieldError("organisation_id", "no organisation {org_id!r}", status=404, org_id=org_id)
    values = plan_organisation_change(changes)
    if values:
        db.table("organisations").update(org_id, values)
    return organisation_summary(rows[0]), organisation_summary(db.table("organisations").get(org_id))


def token_for(
    db: Database, name: str, role: str = "admin", commune: str | None = None, label: str = "script"
) -> str:
    """A fresh token acting as ``name``, made with that role (no password) when missing: for tests,
    benchmarks and the fleet simulator, which need a user without anyone typing a password."""
    with transaction(db):
        found = user_by_name(db, name)
        user_id = found["id"] if found else create_user(db, name, role, None, commune)
        return create_token(db, user_id, label)[1]

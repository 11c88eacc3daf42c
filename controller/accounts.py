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

from controller.access import Actor, Role, check_role_scope
from controller.errors import FieldError

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
        raise FieldError("password", f"must have at least {MIN_PASSWORD_LENGTH} characters")


def ensure_organisation(db: Database, org_id: str, commune_insee: str | None = None) -> None:
    """Create the organisation the first time a user names it (a commune's takes its INSEE code)."""
    if db["organisations"].count_where("id = ?", [org_id]):
        return
    name = f"Commune {commune_insee}" if commune_insee and org_id == f"commune-{commune_insee}" else org_id
    db["organisations"].insert(
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
    name: str,
    role: str,
    password: str | None,
    commune_insee: str | None = None,
    organisation: str | None = None,
) -> int:
    """Add a user; a commune user belongs to ``commune-<INSEE>`` unless another organisation is named.

    ``password`` None makes an account that can use tokens but not log in until one is set.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise FieldError(
            "name", "2 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
        )
    try:
        user_role = Role(role)
    except ValueError:
        raise FieldError("role", f"must be one of: {', '.join(r.value for r in Role)}") from None
    if commune_insee is not None and not _INSEE.match(commune_insee):
        raise FieldError(
            "commune", f"{commune_insee!r} is not an INSEE commune code (5 characters, like 01053)"
        )
    problem = check_role_scope(user_role, commune_insee)
    if problem:
        raise FieldError("commune", problem)
    if password is not None:
        _check_password(password)
    if db["users"].count_where("name = ?", [name]):
        raise FieldError("name", f"a user named {name!r} exists already", status=409)
    org = organisation or (f"commune-{commune_insee}" if commune_insee else None)
    if org is not None:
        ensure_organisation(db, org, commune_insee)
    return (
        db["users"]
        .insert(
            {
                "name": name,
                "role": user_role.value,
                "organisation": org,
                "commune_insee": commune_insee,
                "password_hash": None if password is None else generate_password_hash(password),
                "created_at": int(time.time()),
            }
        )
        .last_pk
    )


def set_password(db: Database, user_id: int, password: str) -> None:
    _check_password(password)
    db["users"].update(user_id, {"password_hash": generate_password_hash(password)})


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
    if not check_password_hash(stored or _DUMMY_HASH, password) or stored is None:
        return None
    assert row is not None
    return actor_from_row(row)


def create_token(db: Database, user_id: int, label: str, now: float | None = None) -> tuple[int, str]:
    """A new token for a user's scripts: (its id, the token, shown only this once)."""
    if not isinstance(label, str) or not label.strip():
        raise FieldError("label", "a token needs the name of who or what uses it")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = (
        db["api_tokens"]
        .insert(
            {
                "name": label.strip(),
                "token_hash": _hash_token(token),
                "created_at": int(now or time.time()),
                "user_id": user_id,
            }
        )
        .last_pk
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
    db["api_tokens"].update(token_id, {"revoked_at": int(now or time.time())})

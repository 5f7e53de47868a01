"""Repository functions for API keys: created once, stored hashed, looked up by hash.

A key is 32 random bytes (``secrets.token_urlsafe``) behind the prefix ``tk_``; only its
sha256 is stored (a key this long needs no slow hash: nobody can guess it). The first
characters are kept in clear as ``prefix`` so an admin can tell keys apart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from api.store.service_schema import api_keys
from transit.errors import InputError, NotFoundError

__all__ = ["ROLES", "ApiKey", "create_key", "hash_key", "key_for_secret", "list_keys",
           "revoke_key"]

#: Roles a key may have: ``field`` uploads, ``planner`` queries, ``admin`` does everything.
ROLES = ("field", "planner", "admin")
#: Characters of a key kept in clear.
PREFIX_CHARS = 10


@dataclass(frozen=True)
class ApiKey:
    """A stored key (never the secret itself)."""

    id: int
    prefix: str
    role: str
    name: str | None
    created_at: dt.datetime
    revoked_at: dt.datetime | None


def hash_key(secret: str) -> str:
    """sha256 hex digest of a key."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _key(row: Any) -> ApiKey:
    m = row._mapping
    return ApiKey(**{f: m[f] for f in ApiKey.__dataclass_fields__})


def create_key(conn: Connection, role: str, name: str | None = None) -> tuple[ApiKey, str]:
    """A new key with ``role``; returns the stored record and the secret (shown once)."""
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}", where="--role",
                         fix=f"use one of {', '.join(ROLES)}")
    secret = "tk_" + secrets.token_urlsafe(32)
    key_id = conn.execute(insert(api_keys).values(
        key_sha256=hash_key(secret), prefix=secret[:PREFIX_CHARS], role=role,
        name=name, created_at=dt.datetime.now(dt.UTC), revoked_at=None,
    ).returning(api_keys.c.id)).scalar_one()
    row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).one()
    return _key(row), secret


def key_for_secret(conn: Connection, secret: str) -> ApiKey | None:
    """The live (not revoked) key with this secret, if any."""
    row = conn.execute(select(api_keys).where(api_keys.c.key_sha256 == hash_key(secret))
                       .where(api_keys.c.revoked_at.is_(None))).first()
    return _key(row) if row else None


def list_keys(conn: Connection) -> list[ApiKey]:
    """Every key, oldest first."""
    return [_key(r) for r in conn.execute(select(api_keys).order_by(api_keys.c.id))]


def revoke_key(conn: Connection, key_id: int) -> None:
    """Revoke a key (it stays listed); :class:`NotFoundError` when there is no such key."""
    result = conn.execute(update(api_keys).where(api_keys.c.id == key_id)
                          .values(revoked_at=dt.datetime.now(dt.UTC)))
    if result.rowcount != 1:
        raise NotFoundError(f"no API key with id {key_id}", fix="list keys with GET /keys")

"""API keys (admin): ``POST /keys`` creates one (its secret shown once), ``GET /keys``
lists them, ``DELETE /keys/{id}`` revokes one."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AdminCaller, RowId, ServicesDep
from api.problems import PROBLEM_JSON
from api.schemas import KeyCreate, KeyCreated, KeyOut
from api.store import keys as repo

router = APIRouter(tags=["keys"])


def _out(key: repo.ApiKey) -> KeyOut:
    return KeyOut(id=key.id, prefix=key.prefix, role=key.role, name=key.name,
                  created_at=key.created_at, revoked_at=key.revoked_at)


@router.post("/keys", response_model=KeyCreated, status_code=201)
def create_key(body: KeyCreate, services: ServicesDep, caller: AdminCaller) -> KeyCreated:
    """A new key; the response holds its secret, which is never shown again."""
    with services.engine.begin() as conn:
        key, secret = repo.create_key(conn, body.role, body.name)
    return KeyCreated(**_out(key).model_dump(), key=secret)


@router.get("/keys", response_model=list[KeyOut])
def list_keys(services: ServicesDep, caller: AdminCaller) -> list[KeyOut]:
    """Every key (prefix and role, never the secret)."""
    with services.engine.connect() as conn:
        return [_out(k) for k in repo.list_keys(conn)]


@router.delete("/keys/{key_id}", status_code=204,
               responses={404: {"content": {PROBLEM_JSON: {}}}})
def revoke_key(key_id: RowId, services: ServicesDep, caller: AdminCaller) -> None:
    """Revoke a key at once (it stays listed, with ``revoked_at``)."""
    with services.engine.begin() as conn:
        repo.revoke_key(conn, key_id)
    services.forget_keys()

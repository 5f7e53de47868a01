"""Dependencies of the route handlers: the services of the app and the caller's role.

Keys come in the ``X-API-Key`` header (the TransitWand endpoint also takes ``?api_key=``,
since the capture app cannot send headers). ``admin`` may do everything; ``field``
uploads; ``planner`` queries. Feeds and queries can be made public by configuration.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi import Path as FastApiPath
from fastapi.security import APIKeyHeader
from sqlalchemy import Engine

from api.jobs import BuildRunner
from api.problems import AuthError, ForbiddenError
from api.settings import Settings
from api.store.keys import ApiKey, hash_key, key_for_secret
from api.timetables import TimetableHolder
from gps_ingest.timeparse import check_timezone
from transit.errors import InputError

__all__ = ["Caller", "EngineDep", "RowId", "Services", "ServicesDep", "SettingsDep", "require"]


@dataclass
class Services:
    """What the app holds for its handlers (built in the lifespan)."""

    settings: Settings
    engine: Engine
    holder: TimetableHolder
    runner: BuildRunner | None
    _keys: dict[str, tuple[ApiKey, float]] = field(default_factory=dict)
    _keys_lock: threading.Lock = field(default_factory=threading.Lock)

    def key(self, secret: str) -> ApiKey | None:
        """The live key with this secret (checked keys are trusted ``key_cache_s``)."""
        digest = hash_key(secret)
        now = time.monotonic()
        with self._keys_lock:
            hit = self._keys.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        with self.engine.connect() as conn:
            key = key_for_secret(conn, secret)
        if key is not None:
            with self._keys_lock:
                if len(self._keys) > 10_000:
                    self._keys.clear()
                self._keys[digest] = (key, now + self.settings.key_cache_s)
        return key

    def forget_keys(self) -> None:
        """Drop cached keys (after a key is revoked)."""
        with self._keys_lock:
            self._keys.clear()


async def get_services(request: Request) -> Services:
    """The app's :class:`Services`."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_settings(services: ServicesDep) -> Settings:
    """The app's settings."""
    return services.settings


async def get_engine(services: ServicesDep) -> Engine:
    """The store's engine."""
    return services.engine


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="API key (create one with `transit keys create`)")


@dataclass(frozen=True)
class Caller:
    """Who calls: a key's role and prefix, or anonymous (role None) on public routes."""

    role: str | None
    prefix: str | None

    @property
    def is_admin(self) -> bool:
        """True for an admin key."""
        return self.role == "admin"


Public = Callable[[Settings], bool]


def check_key(services: Services, secret: str | None, roles: tuple[str, ...],
              public: Public | None = None) -> Caller:
    """The caller with key ``secret``; :class:`AuthError` / :class:`ForbiddenError` when it
    is missing, unknown, revoked or of another role (admin passes every check)."""
    if public is not None and public(services.settings) and not secret:
        return Caller(None, None)
    if not secret:
        raise AuthError("no API key", where="X-API-Key header",
                        fix="send a key in the X-API-Key header (transit keys create)")
    key = services.key(secret)
    if key is None:
        raise AuthError("unknown or revoked API key", where="X-API-Key header",
                        fix="check the key, or ask an admin for a new one")
    if key.role != "admin" and key.role not in roles:
        needed = " or ".join((*roles, "admin"))
        raise ForbiddenError(f"a {key.role} key may not do this", where="X-API-Key header",
                             fix=f"use a {needed} key")
    return Caller(key.role, key.prefix)


def require(*roles: str, public: Public | None = None
            ) -> Callable[..., Coroutine[Any, Any, Caller]]:
    """A dependency admitting keys with one of ``roles`` (admin always), or anyone when
    ``public(settings)`` is true and no key is sent."""

    async def dependency(services: ServicesDep,
                         secret: Annotated[str | None, Depends(api_key_header)] = None
                         ) -> Caller:
        # on the event loop: keys are cached (key_cache_s), so a database lookup (a
        # millisecond) happens once per key and period, not per request
        return check_key(services, secret, roles, public)

    return dependency


def require_with_query_key(*roles: str) -> Callable[..., Caller]:
    """As :func:`require`, also accepting the key as ``?api_key=`` (for apps that cannot
    set headers, such as the TransitWand capture app)."""

    def dependency(services: ServicesDep,
                   secret: Annotated[str | None, Depends(api_key_header)] = None,
                   api_key: Annotated[str | None, Query(
                       max_length=200, description="API key, for apps that cannot send "
                                                   "the X-API-Key header")] = None,
                   ) -> Caller:
        return check_key(services, secret or api_key, roles, None)

    return dependency


def feeds_public(settings: Settings) -> bool:
    """Feeds need no key when ``TRANSIT_PUBLIC_FEEDS`` is true."""
    return settings.public_feeds


def queries_public(settings: Settings) -> bool:
    """Queries need no key when ``TRANSIT_PUBLIC_QUERIES`` is true."""
    return settings.public_queries


FieldCaller = Annotated[Caller, Depends(require("field"))]
PlannerCaller = Annotated[Caller, Depends(require("planner"))]
AdminCaller = Annotated[Caller, Depends(require())]
QueryCaller = Annotated[Caller, Depends(require("planner", public=queries_public))]
FeedCaller = Annotated[Caller, Depends(require("planner", "field", public=feeds_public))]


def check_zone(name: str, where: str = "timezone") -> str:
    """``name`` when it is an IANA zone, else :class:`InputError` (also for names such as
    ``Africa`` that are folders of the zone database)."""
    try:
        return check_timezone(name)
    except OSError:
        raise InputError(f"unknown timezone {name!r}", where=where,
                         fix="give an IANA name such as Africa/Nairobi or UTC") from None


#: A row id in a path (ids are positive 32-bit integers in every backend).
RowId = Annotated[int, FastApiPath(ge=1, le=2**31 - 1, description="Id (1 or more)")]

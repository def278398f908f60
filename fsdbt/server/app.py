"""The HTTP feature server: a Starlette app speaking Feast's feature-server JSON.

``create_app()`` is the factory uvicorn calls in each worker; it reads its settings from
``FSDBT_SERVE_*`` environment variables (``ServerSettings.from_env``), which ``fsdbt serve``
sets. Tests pass settings and a ``FeatureStore`` directly.

The request path is short on purpose: a request shape (features or service, full names,
join keys) is resolved once and cached; the online store is called directly on the event
loop (its work is CPU-bound Python plus one pipelined round trip with a socket timeout);
JSON goes through orjson; nothing touches pandas. The warehouse is never opened except to
append offline pushes on PostgreSQL or Snowflake: on DuckDB pushes go to the Parquet push log.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from fsdbt import catalog_views
from fsdbt.errors import FsdbtError, OnlineStoreError, WarehouseError, hint
from fsdbt.online.codec import EntityKeyError
from fsdbt.push import Pusher, PushError, PushLog, push_log_dir
from fsdbt.server import feast_wire as wire
from fsdbt.server.metrics import Metrics
from fsdbt.server.openapi import docs_html, openapi_schema

log = logging.getLogger("fsdbt.server")

JSON = "application/json"
ENV_PREFIX = "FSDBT_SERVE_"
DEFAULT_TOKEN_ENV = "FSDBT_SERVER_TOKEN"
MAX_SHAPES = 4096


@dataclass(frozen=True)
class ServerSettings:
    """What a server process needs; round-trips through ``FSDBT_SERVE_*`` variables for workers."""

    project_dir: str | None = None
    profiles_dir: str | None = None
    target: str | None = None
    token_env: str = DEFAULT_TOKEN_ENV
    max_body_bytes: int = 8 * 1024 * 1024
    max_entities: int = 10_000
    max_push_rows: int = 100_000
    store_timeout: float = 1.0  # seconds: socket read/connect timeout of the online store
    reload_seconds: float = 10.0  # how often to look for a new manifest (0: never)
    reload_settle_seconds: float = 60.0  # DuckDB: a manifest no run_results.json followed, loaded after this
    gc_tuning: int = 1  # freeze start-up objects and collect young objects less often (p99)

    def to_env(self) -> dict[str, str]:
        return {ENV_PREFIX + k.upper(): str(v) for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_env(cls, environ: Any = None) -> ServerSettings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = raw if f.type in ("str | None", "str") else (
                float(raw) if f.type == "float" else int(raw))
        return cls(**values)


def _json(document: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(document, default=str), status, media_type=JSON)


def _raw(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status, headers=headers, media_type=JSON)


def _error(status: int, code: str, message: str, field: str | None = None,
           headers: dict[str, str] | None = None) -> Response:
    return _raw(wire.error_body(code, message, field), status, headers)


_ENDPOINTS = {"/get-online-features", "/push", "/feature-views", "/feature-services", "/health",
              "/health/ready", "/metrics", "/openapi.json", "/docs"}


def _stamp(path: Any) -> tuple[int, int] | None:
    """What tells a new manifest from the last one (None: there is none)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _endpoint_label(path: str) -> str:
    if path in _ENDPOINTS:
        return path
    if path.startswith("/feature-views/"):
        return "/feature-views/{name}"
    return "other"


class FeatureServer:
    """State of one worker: the store, cached shapes and documents, metrics, auth."""

    def __init__(self, settings: ServerSettings, store: Any = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        from fsdbt.online import open_online_store
        from fsdbt.store import FeatureStore

        self.settings = settings
        self.clock = clock  # tests pin "now"; None: the current time
        self.store = store or FeatureStore(settings.project_dir, settings.profiles_dir, settings.target)
        self.registry = self.store.registry
        self._release_duckdb_file()
        config = {k: v for k, v in self.store.target.online_store.items() if v not in ("", None)}
        if str(config.get("type", "")).lower() == "redis":
            config.setdefault("socket_timeout", settings.store_timeout)
            config.setdefault("socket_connect_timeout", settings.store_timeout)
        if str(config.get("type", "")).lower() == "sqlite" and config.get("path"):
            os.makedirs(os.path.dirname(os.path.abspath(str(config["path"]))), exist_ok=True)
        self.online = open_online_store(config)
        self.metrics = Metrics()
        token = os.environ.get(settings.token_env or DEFAULT_TOKEN_ENV, "")
        self.token = f"Bearer {token}".encode() if token else None
        self.manifest_stamp = _stamp(self.store.project.manifest_path)
        self.reload_error: str | None = None
        self._use(self.registry)
        self.openapi_body = orjson.dumps(openapi_schema())
        self.docs_body = docs_html(openapi_schema())

    # -- definitions ----------------------------------------------------------------------------
    def _use(self, registry: Any) -> None:
        """Install definitions, with everything derived from them (called on the event loop only)."""
        self.registry = registry
        self.pusher = Pusher(registry, lambda: self.online, self.store.target.type,
                             PushLog(push_log_dir(self.store.project)), warehouse=lambda: self.store.warehouse,
                             max_rows=self.settings.max_push_rows)
        self.shapes: dict[tuple[Any, ...], wire.ReadShape] = {}
        views = [catalog_views.view_summary(v) for v in sorted(registry.views.values(), key=lambda v: v.name)]
        services = [catalog_views.service_summary(s) for s in sorted(registry.services.values(), key=lambda s: s.name)]
        self.views_body = orjson.dumps({"feature_views": views}, default=str)
        self.services_body = orjson.dumps({"feature_services": services}, default=str)

    def _read_definitions(self) -> Any:
        try:
            return self.store.load_definitions(reparse=False, strict_catalog=True)
        finally:
            self._release_duckdb_file()

    def _release_duckdb_file(self) -> None:
        """Loading definitions may have read the warehouse catalog: let a DuckDB file go (one writer)."""
        held = getattr(self.store, "_warehouse", None)
        if held is not None and self.store.target.type == "duckdb":
            held.close()
            self.store._warehouse = None

    async def reload_if_changed(self) -> bool:
        """Load the definitions again when dbt wrote a new manifest; keep serving the old ones if
        the new ones do not load (the error is logged once, counted, and shown by /health/ready)."""
        stamp = _stamp(self.store.project.manifest_path)
        if stamp == self.manifest_stamp or stamp is None or not self._settled(stamp):
            return False
        try:
            registry = await run_in_threadpool(self._read_definitions)
        except Exception as exc:  # a half-written or broken manifest must not stop the server
            text = str(exc) if isinstance(exc, FsdbtError) else f"{type(exc).__name__}: {exc}"
            if text != self.reload_error:
                log.warning("new definitions in %s not loaded, still serving the previous ones: %s",
                            self.store.project.manifest_path, text)
            self.reload_error = text
            self.metrics.reloaded(False)
            return False
        self.store.reload(registry)
        self._use(registry)
        self.manifest_stamp = stamp
        self.reload_error = None
        self.metrics.reloaded(True)
        log.info("definitions reloaded: %d feature views, %d feature services", len(registry.views),
                 len(registry.services))
        return True

    def _settled(self, stamp: tuple[int, int]) -> bool:
        """Whether the dbt command that wrote the manifest is done with the warehouse.

        Loading reads the catalog, and DuckDB allows one process at a time: a `dbt build` writes
        the manifest when it starts and run_results.json when it ends, so the server waits for
        the latter (or, after `dbt parse`, which writes none, for the manifest to be a minute old)
        rather than open the file while the build is about to. Other warehouses have no such lock.
        """
        if self.store.target.type != "duckdb":
            return True
        results = _stamp(self.store.project.run_results_path)
        if results is not None and results[0] >= stamp[0]:
            return True
        return time.time_ns() - stamp[0] >= self.settings.reload_settle_seconds * 1e9

    async def watch_definitions(self) -> None:
        while True:
            await asyncio.sleep(self.settings.reload_seconds)
            await self.reload_if_changed()

    # -- get-online-features --------------------------------------------------------------------
    def shape(self, req: wire.OnlineRequest) -> wire.ReadShape:
        key = req.shape
        shape = self.shapes.get(key)
        if shape is None:
            shape = wire.resolve_shape(self.store.resolve_features, self.registry.views, req)
            if len(self.shapes) >= MAX_SHAPES:
                self.shapes.clear()
            self.shapes[key] = shape
        return shape

    def online_answer(self, body: bytes) -> tuple[int, bytes, bool]:
        """Status, JSON body and whether to add ``Retry-After``: the whole get-online-features path."""
        try:
            req = wire.parse_online_request(wire.load_json(body), self.settings.max_entities)
            shape = self.shape(req)
            rows = wire.entity_rows(req, shape.join_keys)
            now = self.clock() if self.clock is not None else None
            try:
                result = self.online.read(shape.reads, rows, now, full_feature_names=shape.full)
            except EntityKeyError as exc:
                raise wire.WireError(422, "invalid_entity", str(exc), "entities") from None
            return 200, wire.online_response(shape, result), False
        except wire.WireError as exc:
            return exc.status, exc.body(), False
        except OnlineStoreError as exc:
            self.metrics.store_error("read")
            return 503, wire.error_body("online_store_unavailable", f"the online store is unreachable: {exc}"), True
        except Exception:
            log.exception("unexpected error answering POST /get-online-features")
            return 500, wire.error_body("internal_error",
                                        "the server failed to answer this request; see its log"), False

    async def get_online_features(self, request: Request) -> Response:
        body = await _read_body(request, self.settings.max_body_bytes)
        status, content, retry = self.online_answer(body)
        return _raw(content, status, {"Retry-After": "1"} if retry else None)

    # -- push -----------------------------------------------------------------------------------
    async def push(self, request: Request) -> Response:
        body = await _read_body(request, self.settings.max_body_bytes)
        req = wire.parse_push_request(wire.load_json(body), self.settings.max_push_rows)
        try:
            result = await run_in_threadpool(self.pusher.push, req.source, req.df, req.to)
        except PushError as exc:
            code = "unknown_push_source" if exc.column is None and "unknown feature view" in str(exc) else \
                "invalid_rows"
            field = "push_source_name" if code == "unknown_push_source" else exc.field
            raise wire.WireError(422, code, str(exc), field) from None
        except OnlineStoreError as exc:
            self.metrics.store_error("write")
            return self.unavailable(exc)
        except WarehouseError as exc:
            return _error(503, "warehouse_unavailable", f"the offline push failed: {exc}; retry the push "
                          f"(online writes are idempotent)", None, {"Retry-After": "1"})
        except OSError as exc:
            return _error(503, "push_log_unavailable", f"the offline push log could not be written "
                          f"({type(exc).__name__}: {exc.strerror or exc}); retry the push", None, {"Retry-After": "1"})
        self.metrics.pushed(result.view, result.rows)
        return _json(result.as_dict())

    def unavailable(self, exc: FsdbtError) -> Response:
        return _error(503, "online_store_unavailable", f"the online store is unreachable: {exc}", None,
                      {"Retry-After": "1"})

    # -- discovery ------------------------------------------------------------------------------
    async def feature_views(self, request: Request) -> Response:
        return _raw(self.views_body)

    async def feature_services(self, request: Request) -> Response:
        return _raw(self.services_body)

    async def feature_view(self, request: Request) -> Response:
        name = request.path_params["name"]
        view = self.registry.views.get(name)
        if view is None:
            return _error(404, "unknown_feature_view",
                          f"unknown feature view '{name}'{hint(name, self.registry.views, 'Known views')}", "name")
        return _json(catalog_views.describe_view(self.registry, view))

    # -- operations -----------------------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        if request.query_params.get("ready") not in (None, "", "0", "false"):
            return await self.ready(request)
        return _raw(b'{"status":"ok"}')

    async def ready(self, request: Request) -> Response:
        try:
            await run_in_threadpool(self.online.ping)
        except OnlineStoreError as exc:
            self.metrics.store_error("ping")
            return _raw(orjson.dumps({"status": "unavailable", "online_store": "unreachable",
                                      "error": {"code": "online_store_unavailable",
                                                "message": f"the online store is unreachable: {exc}",
                                                "field": None}}), 503, {"Retry-After": "1"})
        definitions: dict[str, Any] = {"feature_views": len(self.registry.views),
                                       "feature_services": len(self.registry.services)}
        if self.reload_error is not None:
            definitions["reload_error"] = self.reload_error
        return _raw(orjson.dumps({"status": "ready", "online_store": "ok", "definitions": definitions}))

    async def metrics_page(self, request: Request) -> Response:
        return Response(self.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    async def openapi(self, request: Request) -> Response:
        return _raw(self.openapi_body)

    async def docs(self, request: Request) -> Response:
        return HTMLResponse(self.docs_body)


async def _read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise wire.WireError(413, "body_too_large", f"the request body is {int(length):,} bytes; the limit is "
                             f"{limit:,}", None)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise wire.WireError(413, "body_too_large", f"the request body exceeds the limit of {limit:,} bytes",
                                 None)
        chunks.append(chunk)
    return b"".join(chunks)


Handler = Callable[[Request], Awaitable[Response]]


def _guard(handler: Handler) -> Handler:
    """Bad input becomes its 4xx; anything unforeseen a JSON 500 (logged), never a traceback page."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except wire.WireError as exc:
            return _raw(exc.body(), exc.status)
        except OnlineStoreError as exc:
            return _error(503, "online_store_unavailable", f"the online store is unreachable: {exc}", None,
                          {"Retry-After": "1"})
        except FsdbtError as exc:
            return _error(422, "invalid_request", str(exc), None)
        except Exception:
            log.exception("unexpected error answering %s %s", request.method, request.url.path)
            return _error(500, "internal_error", "the server failed to answer this request; see its log", None)

    return run


class _Outer:
    """Auth and metrics around the Starlette app, as plain ASGI (no per-request middleware objects)."""

    def __init__(self, app: Starlette, server: FeatureServer) -> None:
        self.app = app
        self.server = server
        self.state = app.state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path = scope["path"]
        status = [500]

        async def send_status(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            token = self.server.token
            if token is not None and not (path == "/health" and b"ready" not in scope.get("query_string", b"")):
                given = b""
                for name, value in scope["headers"]:
                    if name == b"authorization":
                        given = value
                        break
                if not hmac.compare_digest(given, token):
                    message = ("missing Authorization header: send 'Authorization: Bearer <token>'" if not given
                               else "the bearer token is wrong")
                    await _error(401, "unauthorized", message, "Authorization",
                                 {"WWW-Authenticate": 'Bearer realm="fsdbt"'})(scope, receive, send_status)
                    return
            if path == "/get-online-features" and scope["method"] == "POST":
                status[0] = await self._online(scope, receive, send)
            else:
                await self.app(scope, receive, send_status)
        finally:
            self.server.metrics.observe(_endpoint_label(path), status[0], time.perf_counter() - started)


    async def _online(self, scope: Any, receive: Any, send: Any) -> int:
        """The hot endpoint in plain ASGI: no Request/Response objects, one body, two messages."""
        limit = self.server.settings.max_body_bytes
        content: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                content = wire.error_body("body_too_large", f"the request body is {int(value):,} bytes; the "
                                          f"limit is {limit:,}")
                break
        if content is None:
            chunks: list[bytes] = []
            size = 0
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return 499
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    content = wire.error_body("body_too_large", f"the request body exceeds the limit of "
                                              f"{limit:,} bytes")
                    break
                chunks.append(chunk)
                more = message.get("more_body", False)
        if content is not None:
            status, retry = 413, False
        else:
            status, content, retry = self.server.online_answer(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
        if retry:
            headers.append((b"retry-after", b"1"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})
        return status


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 405:
        return _error(405, "method_not_allowed", f"{request.method} is not allowed on {request.url.path}", None)
    if status == 404:
        return _error(404, "not_found", f"no endpoint at {request.url.path}; see /docs", None)
    return _error(status, "http_error", str(getattr(exc, "detail", "error")), None)


def create_app(settings: ServerSettings | None = None, store: Any = None,
               clock: Callable[[], datetime] | None = None) -> _Outer:
    """The ASGI app (uvicorn's ``--factory`` target): settings from the environment by default.

    ``store`` (a ``FeatureStore``) and ``clock`` (what "now" is) are for tests and embedding.
    """
    settings = settings or ServerSettings.from_env()
    server = FeatureServer(settings, store, clock)
    routes = [
        Route("/get-online-features", _guard(server.get_online_features), methods=["POST"]),
        Route("/push", _guard(server.push), methods=["POST"]),
        Route("/feature-views", _guard(server.feature_views), methods=["GET"]),
        Route("/feature-views/{name}", _guard(server.feature_view), methods=["GET"]),
        Route("/feature-services", _guard(server.feature_services), methods=["GET"]),
        Route("/health", _guard(server.health), methods=["GET"]),
        Route("/health/ready", _guard(server.ready), methods=["GET"]),
        Route("/metrics", _guard(server.metrics_page), methods=["GET"]),
        Route("/openapi.json", _guard(server.openapi), methods=["GET"]),
        Route("/docs", _guard(server.docs), methods=["GET"]),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        watcher = asyncio.create_task(server.watch_definitions()) if settings.reload_seconds > 0 else None
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            server.online.close()

    app = Starlette(routes=routes, exception_handlers={HTTPException: _not_found}, lifespan=lifespan)
    app.state.server = server
    if settings.gc_tuning:
        # A worker's long-lived objects (registry, manifest, modules) never die: keep the collector
        # from walking them, and collect the young generation less often. Requests make little
        # garbage with cycles, so this trades a little memory for a shorter tail.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 20)
    return _Outer(app, server)

"""create_app(settings): the FastAPI app with its store, hub and job manager wired in the lifespan."""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match

from normscope import __version__
from normscope.api import exports, hall, ingest, lectures, lessons, pages, room, routes, ws
from normscope.catalog import DataRoot
from normscope.config import Settings
from normscope.jobs.manager import JobManager
from normscope.lessons import Lectures, Lessons
from normscope.realtime import Hub
from normscope.store import Store

log = logging.getLogger("normscope")
MAX_BODY_BYTES = 256 * 1024
IMPORT_PATH = "/api/import"


def create_app(settings: Settings) -> FastAPI:
    if not settings.token:
        raise ValueError("create_app needs settings.token (serve() generates one when unset)")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store(settings.data_dir / "normscope.sqlite3", max_bytes=int(settings.max_data_gb * 1e9))
        interrupted = store.mark_interrupted()
        if interrupted:
            log.warning("marked %d experiment(s) interrupted: %s", len(interrupted), ", ".join(interrupted))
        hub = Hub()
        manager = JobManager(
            store,
            hub,
            settings.device,
            settings.torch_threads,
            settings.max_running,
            settings.warm_spare,
            max_queued=settings.max_queued,
            data=DataRoot(settings.datasets_dir, settings.downloads, settings.dataset_mirror),
            executor=settings.executor_settings,
        )
        manager.start(asyncio.get_running_loop())
        try:
            device = await asyncio.to_thread(manager.wait_ready)
        except RuntimeError:
            manager.stop()
            store.close()
            raise
        log.info("training device: %s", device)
        app.state.store, app.state.hub, app.state.manager = store, hub, manager
        try:
            yield
        finally:
            manager.stop()
            store.close()

    app = FastAPI(
        title="normscope",
        version=__version__,
        description="Watch Batch Normalization work, live. Mutating routes need the presenter token.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.lessons = Lessons.from_settings(settings)
    app.state.lectures = Lectures.from_settings(settings, app.state.lessons)

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        limit = routes.MAX_IMPORT_BYTES if request.url.path == IMPORT_PATH else MAX_BODY_BYTES
        if length is not None and (not length.isdigit() or int(length) > limit):
            return JSONResponse(
                {"detail": f"request body larger than {limit} bytes"},
                status_code=status.HTTP_413_CONTENT_TOO_LARGE,
            )
        return await call_next(request)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:  # Allow: every method of the path,
            allowed: set[str] = set()  # not only those of the first route that matched it
            for route in _leaves(app.router.routes):
                if route.matches(request.scope)[0] != Match.NONE:
                    allowed |= getattr(route, "methods", None) or set()
            exc.headers = {**(exc.headers or {}), "Allow": ", ".join(sorted(allowed))}
        return await http_exception_handler(request, exc)

    app.include_router(routes.router)
    app.include_router(lessons.router)
    app.include_router(lectures.router)
    app.include_router(room.router)
    app.include_router(hall.router)
    app.include_router(exports.router)
    app.include_router(ws.router)
    app.include_router(ingest.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.web_dir()), name="static")
    return app


def _leaves(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    """The routes themselves: FastAPI keeps an included router's routes inside it."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        yield from _leaves(inner.routes) if inner is not None else (route,)

"""create_app(settings): the FastAPI app with its store, hub and job manager wired in the lifespan."""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from normscope import __version__
from normscope.api import pages, routes, ws
from normscope.config import Settings
from normscope.jobs.manager import JobManager
from normscope.realtime import Hub
from normscope.store import Store

log = logging.getLogger("normscope")
MAX_BODY_BYTES = 256 * 1024


def create_app(settings: Settings) -> FastAPI:
    if not settings.token:
        raise ValueError("create_app needs settings.token (serve() generates one when unset)")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = Store(settings.data_dir / "normscope.sqlite3")
        interrupted = store.mark_interrupted()
        if interrupted:
            log.warning("marked %d experiment(s) interrupted: %s", len(interrupted), ", ".join(interrupted))
        hub = Hub()
        manager = JobManager(
            store, hub, settings.device, settings.torch_threads, settings.max_running, settings.warm_spare
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

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return JSONResponse(
                {"detail": f"request body larger than {MAX_BODY_BYTES} bytes"},
                status_code=status.HTTP_413_CONTENT_TOO_LARGE,
            )
        return await call_next(request)

    app.include_router(routes.router)
    app.include_router(ws.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.frontend_dir()), name="static")
    return app

"""Dependencies from app.state as Annotated aliases, and the presenter check for mutating routes."""

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from normscope.config import Settings
from normscope.jobs.manager import JobManager
from normscope.lessons import Lectures, Lessons
from normscope.store import Store


def _store(request: Request) -> Store:
    return request.app.state.store


def _manager(request: Request) -> JobManager:
    return request.app.state.manager


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _lessons(request: Request) -> Lessons:
    return request.app.state.lessons


def _lectures(request: Request) -> Lectures:
    return request.app.state.lectures


StoreDep = Annotated[Store, Depends(_store)]
ManagerDep = Annotated[JobManager, Depends(_manager)]
SettingsDep = Annotated[Settings, Depends(_settings)]
LessonsDep = Annotated[Lessons, Depends(_lessons)]
LecturesDep = Annotated[Lectures, Depends(_lectures)]
_bearer = HTTPBearer(auto_error=False, description="The presenter token printed at server start.")


def require_presenter(
    settings: SettingsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "presenter token required: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    assert settings.token is not None
    if not secrets.compare_digest(credentials.credentials.encode(), settings.token.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "wrong presenter token")


Presenter = Depends(require_presenter)

"""/api/lectures: the lecture files (ordered lists of lessons) listed and served to anyone."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

from normscope.api.deps import LecturesDep
from normscope.api.routes import errors
from normscope.lessons import LectureInfo
from normscope.schemas.spec import LESSON_ID

router = APIRouter(prefix="/api")
LectureId = Annotated[str, Path(pattern=LESSON_ID, description="The lecture's id: its file's name.")]


@router.get("/lectures", response_model=list[LectureInfo])
def list_lectures(lectures: LecturesDep) -> list[LectureInfo]:
    """Built-in lectures, then own ones; a file that does not validate, or names a lesson that is missing or
    broken, is listed with its errors (each 'file: field: message') and null fields."""
    return [e.info() for e in lectures.entries()]


@router.get("/lectures/{lecture_id}", response_model=LectureInfo, responses=errors(404))
def get_lecture(lecture_id: LectureId, lectures: LecturesDep) -> LectureInfo:
    entry = lectures.get(lecture_id)
    if entry is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lecture {lecture_id!r}")
    return entry.info()

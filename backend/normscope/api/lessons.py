"""/api/lessons: the lesson files listed and served to anyone; the presenter adds, replaces, deletes and
launches them. Own lessons are written to $NORMSCOPE_DATA_DIR/lessons/<id>.toml and nowhere else."""

import asyncio
import tomllib
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from normscope.api.deps import LecturesDep, LessonsDep, ManagerDep, Presenter, SettingsDep
from normscope.api.routes import BODY, ERRORS, PRESENTER, errors, launch_spec, prepared_marks, read_body
from normscope.jobs.manager import NoRoom
from normscope.lessons import (
    MAX_LESSON_BYTES,
    Entry,
    Lectures,
    Lesson,
    LessonConflict,
    LessonInfo,
    LessonLaunch,
)
from normscope.schemas import Experiment, ExperimentSource
from normscope.schemas.spec import LESSON_ID
from normscope.store.recordings import RecordingRefused, read_head

router = APIRouter(prefix="/api")
LessonId = Annotated[str, Path(pattern=LESSON_ID, description="The lesson's id: its file's name.")]
JSON, TOML_TYPES = "application/json", ("application/toml", "text/plain")
DESCRIBED = {
    **ERRORS,
    404: "No such lesson.",
    409: "The id is taken (a new lesson), the lesson is built-in or comes from NORMSCOPE_LESSONS_PATH (a "
    "change), its file cannot be read (its file), or it has no recording to play (a launch).",
    413: "The body is larger than 256 KiB.",
    415: "The body is neither JSON (application/json) nor TOML text (application/toml, text/plain).",
}
VALIDATION = {"$ref": "#/components/schemas/HTTPValidationError"}
INVALID = {
    422: {
        "description": "The lesson does not validate: each field and why.",
        "content": {"application/json": {"schema": VALIDATION}},
    }
}
BROKEN = {
    422: {
        "description": "The lesson's file does not validate (detail: its errors, a line each), its recording "
        "is refused (a launch: missing, a link, not gzip, a line too long or not valid), or the body.",
        "content": {
            "application/json": {"schema": {"anyOf": [{"$ref": "#/components/schemas/ApiError"}, VALIDATION]}}
        },
    }
}
LESSON_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            JSON: {"schema": {"$ref": "#/components/schemas/Lesson"}},
            **{
                kind: {"schema": {"type": "string", "description": "The lesson's TOML file."}}
                for kind in TOML_TYPES
            },
        },
    }
}


def held(entry: Entry | None, lesson_id: str) -> Entry:
    if entry is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lesson {lesson_id!r}")
    return entry


def in_lecture(lectures: Lectures, lecture_id: str, lesson_id: str) -> None:
    """A lesson launched as part of a lecture must be one of the lecture's lessons (422 naming the field)."""
    entry = lectures.get(lecture_id)
    if entry is None:
        raise invalid(f"no lecture {lecture_id!r}", "lecture_missing", "lecture")
    if entry.lecture is None:
        raise invalid(
            f"the lecture does not validate: {'; '.join(entry.errors)}", "lecture_broken", "lecture"
        )
    if entry.lecture.position(lesson_id) is None:
        raise invalid(
            f"the lesson {lesson_id!r} is not in the lecture {lecture_id!r}", "not_in_lecture", "lecture"
        )


def invalid(msg: str, kind: str, *where: str) -> RequestValidationError:
    return RequestValidationError([{"type": kind, "loc": ("body", *where), "msg": msg, "input": None}])


async def sent_lesson(request: Request) -> tuple[Lesson, str | None]:
    """The lesson in the body, and its text when it came as TOML (written as sent, comments and all)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != JSON and kind not in TOML_TYPES:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, f"{DESCRIBED[415]} Got {kind or 'none'}.")
    body = await read_body(request, MAX_LESSON_BYTES)
    try:
        text = body.decode()  # first: a validation error echoes its input, and JSON holds no raw bytes
        if kind == JSON:
            return Lesson.model_validate_json(text), None
        return Lesson.model_validate(tomllib.loads(text)), text
    except ValidationError as e:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in e.errors(include_url=False)]
        ) from None
    except UnicodeDecodeError:
        raise invalid("the body is not UTF-8 text", "utf8") from None
    except tomllib.TOMLDecodeError as e:
        raise invalid(f"not TOML: {e}", "toml_invalid") from None


@router.get("/lessons", response_model=list[LessonInfo])
def list_lessons(lessons: LessonsDep) -> list[LessonInfo]:
    """Built-in lessons, then own ones; a file that does not validate is listed with its errors (each 'file:
    field: message') and null fields, and cannot be launched."""
    return [e.info() for e in lessons.entries()]


@router.get("/lessons/{lesson_id}", response_model=LessonInfo, responses=errors(404, described=DESCRIBED))
def get_lesson(lesson_id: LessonId, lessons: LessonsDep) -> LessonInfo:
    return held(lessons.get(lesson_id), lesson_id).info()


@router.get(
    "/lessons/{lesson_id}/file",
    response_class=Response,
    responses={
        200: {
            "description": "The lesson's TOML file, as an attachment.",
            "content": {"application/toml": {}},
        },
        **errors(404, 409, described=DESCRIBED),
    },
)
def lesson_file(lesson_id: LessonId, lessons: LessonsDep) -> Response:
    entry = held(lessons.get(lesson_id), lesson_id)
    if entry.text is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "\n".join(entry.errors))
    disposition = f'attachment; filename="{entry.id}.toml"'
    return Response(entry.text, media_type="application/toml", headers={"Content-Disposition": disposition})


@router.post(
    "/lessons",
    response_model=Lesson,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Presenter],
    responses={**errors(*PRESENTER, 409, 413, 415, described=DESCRIBED), **INVALID},
    openapi_extra=LESSON_BODY,
)
async def add_lesson(request: Request, lessons: LessonsDep) -> Lesson:
    """A new own lesson: JSON, or the TOML text of its file."""
    lesson, text = await sent_lesson(request)
    try:
        await asyncio.to_thread(lessons.add, lesson, text)
    except LessonConflict as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    return lesson


@router.put(
    "/lessons/{lesson_id}",
    response_model=Lesson,
    dependencies=[Presenter],
    responses={**errors(*PRESENTER, 404, 409, 413, 415, described=DESCRIBED), **INVALID},
    openapi_extra=LESSON_BODY,
)
async def replace_lesson(lesson_id: LessonId, request: Request, lessons: LessonsDep) -> Lesson:
    """An own lesson replaced whole (a broken file too); the body names the same id."""
    lesson, text = await sent_lesson(request)
    if lesson.id != lesson_id:
        raise invalid(f"the lesson's id is {lesson.id!r}, the path's {lesson_id!r}", "id_mismatch", "id")
    try:
        await asyncio.to_thread(lessons.replace, lesson, text)
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lesson {lesson_id!r}") from None
    except LessonConflict as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    return lesson


@router.delete(
    "/lessons/{lesson_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Presenter],
    responses=errors(*PRESENTER, 404, 409, described=DESCRIBED),
)
def delete_lesson(lesson_id: LessonId, lessons: LessonsDep) -> Response:
    try:
        lessons.delete(lesson_id)
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no lesson {lesson_id!r}") from None
    except LessonConflict as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/lessons/{lesson_id}/launch",
    response_model=Experiment,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Presenter],
    responses={**errors(*PRESENTER, *BODY, 404, 409, 429, 507, described=DESCRIBED), **BROKEN},
)
async def launch_lesson(
    lesson_id: LessonId,
    lessons: LessonsDep,
    lectures: LecturesDep,
    manager: ManagerDep,
    settings: SettingsDep,
    ask: LessonLaunch | None = None,
) -> Experiment:
    """The lesson's spec launched as by POST /experiments, with spec.lesson set to the lesson's id; or its
    recording played (mode recording). Without a mode: the recording when the lesson has one and the server
    trains on no GPU (as its workers found: the server itself never loads torch), else train. With a lecture,
    the lesson must be one of its lessons, and the experiment carries it in spec.lecture."""
    entry = held(await asyncio.to_thread(lessons.get, lesson_id), lesson_id)
    lesson = entry.lesson
    if lesson is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "\n".join(entry.errors))
    ask = ask or LessonLaunch()
    if ask.lecture is not None:
        await asyncio.to_thread(in_lecture, lectures, ask.lecture, lesson_id)
    mode = ask.mode
    if mode is None:
        mode = "recording" if lesson.recording is not None and not manager.trains_on_gpu else "train"
    if mode == "train":
        made = {"lesson": entry.id, "lecture": ask.lecture}
        return launch_spec(lesson.spec.model_copy(update=made, deep=True), manager, prepared_marks(lesson))
    path = entry.recording_path()
    if lesson.recording is None or path is None:
        raise HTTPException(status.HTTP_409_CONFLICT, "this lesson has no recording")
    max_bytes = int(settings.max_recording_mb * 2**20)
    try:
        head = await asyncio.to_thread(read_head, path, max_bytes)
    except RecordingRefused as e:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY, f"{entry.label}: recording {path.name}: {e}"
        ) from None
    # the spec the recording trained (its steps may be fewer), at the pace the lesson starts at now
    fields = {"lesson": entry.id, "lecture": ask.lecture, "external": None, "pace": lesson.spec.pace}
    spec = head.spec.model_copy(update=fields, deep=True)
    source = ExperimentSource(lesson=entry.id, recording=lesson.recording)
    try:
        return manager.play(spec, source, head.layers, path, max_bytes, prepared_marks(lesson))
    except NoRoom as e:
        raise HTTPException(status.HTTP_507_INSUFFICIENT_STORAGE, str(e)) from None

"""Lessons and lectures (ordered lists of lessons) as TOML files: the built-in ones beside this module, own
ones in $NORMSCOPE_DATA_DIR/lessons/ (and lectures/) and the folders of NORMSCOPE_LESSONS_PATH."""

from normscope.lessons.catalogue import (
    MAX_LESSON_BYTES,
    Entry,
    LessonConflict,
    Lessons,
    builtin_lesson,
    read,
    recorded,
    to_toml,
    write_file,
)
from normscope.lessons.lecture import Lecture, LectureEntry, LectureInfo, Lectures
from normscope.lessons.model import (
    Lesson,
    LessonInfo,
    LessonLaunch,
    LessonMark,
    LessonView,
    Preset,
    Recording,
    field_errors,
)

__all__ = [
    "MAX_LESSON_BYTES",
    "Entry",
    "Lecture",
    "LectureEntry",
    "LectureInfo",
    "Lectures",
    "Lesson",
    "LessonConflict",
    "LessonInfo",
    "LessonLaunch",
    "LessonMark",
    "LessonView",
    "Lessons",
    "Preset",
    "Recording",
    "builtin_lesson",
    "field_errors",
    "read",
    "recorded",
    "to_toml",
    "write_file",
]

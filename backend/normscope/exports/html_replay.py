"""The HTML export: one file that opens from a USB stick with no network. The experiment page's own markup,
style and code (bundled into one script), Plotly.js and the experiment's frames, the latter two gzipped and
base64-encoded (a browser unpacks them with DecompressionStream) so a 3000-step run stays a few MB."""

import base64
import functools
import json
import zlib
from collections.abc import Iterator

from normscope.assets import plotly_js, web_dir
from normscope.config import Settings
from normscope.exports.bundle import bundle
from normscope.exports.source import frames, thinned
from normscope.lessons import Lessons
from normscope.schemas import Experiment
from normscope.store import Store

MAX_HTML_FRAMES = 400  # the live page keeps as many whole frames for its layer charts; losses stay whole
LIVE_ONLY = {  # what the server's page loads over the network, and what the export puts in its place
    '<link rel="stylesheet" href="/static/style.css">': "<style>{style}</style>",
    '<script src="/vendor/plotly.min.js"></script>': "",
    '<h1><a href="/">normscope</a></h1>': "<h1>normscope</h1>",
}
APP_TAG = '<script type="module" src="/static/experiment.js"></script>'


class GzipBase64:
    """Gzip then base64, fed piece by piece: base64 is emitted in multiples of 3 bytes so the pieces join."""

    def __init__(self) -> None:
        self._z = zlib.compressobj(6, zlib.DEFLATED, 31)
        self._rest = b""

    def _encode(self, raw: bytes, final: bool) -> bytes:
        raw = self._rest + raw
        cut = len(raw) if final else len(raw) - len(raw) % 3
        self._rest = raw[cut:]
        return base64.b64encode(raw[:cut])

    def feed(self, data: bytes) -> bytes:
        return self._encode(self._z.compress(data), final=False)

    def finish(self) -> bytes:
        return self._encode(self._z.flush(), final=True)


@functools.lru_cache(maxsize=1)
def packed_plotly() -> bytes:
    """Plotly.js gzipped and in base64: the same for every export, so made once per process."""
    return base64.b64encode(zlib.compress(plotly_js().read_bytes(), 9, wbits=31))


def _script_safe(code: str) -> str:
    if "</script" in code.lower() or "<!--" in code:
        raise ValueError("inline code would end its <script> element early")
    return code


def page_parts() -> tuple[str, str]:
    """experiment.html made self-contained, split where the embedded payload goes."""
    html = (web_dir() / "experiment.html").read_text()
    style = (web_dir() / "style.css").read_text()
    for live, offline in LIVE_ONLY.items():
        if html.count(live) != 1:
            raise RuntimeError(f"experiment.html changed: {live!r} is no longer there once")
        html = html.replace(live, offline.format(style=style))
    before, sep, after = html.partition(APP_TAG)
    if not sep:
        raise RuntimeError(f"experiment.html changed: {APP_TAG!r} is missing")
    app = _script_safe(bundle(web_dir() / "experiment.js"))
    loader = _script_safe((web_dir() / "offline.js").read_text())
    return before, (
        f'<script type="text/plain" id="normscope-app">{app}</script>\n<script>{loader}</script>{after}'
    )


def preset_of(experiment: Experiment) -> dict | None:
    """The lesson the experiment was launched from (by the spec's name for one from before spec.lesson): its
    "what to look for" and opening view."""
    lesson_id, name = experiment.spec.lesson, experiment.spec.name
    for lesson in Lessons.from_settings(Settings()).lessons():
        if lesson.id == lesson_id or (lesson_id is None and lesson.spec.name == name):
            return lesson.model_dump(mode="json", include={"id", "title", "summary", "view"})
    return None


def html_chunks(store: Store, experiment: Experiment) -> Iterator[bytes]:
    eid = experiment.id
    before, after = page_parts()
    yield before.encode()
    yield b'<script type="application/octet-stream" id="normscope-plotly">'
    yield packed_plotly()
    yield b'</script>\n<script type="application/octet-stream" id="normscope-data">'
    packer = GzipBase64()
    folds = store.folds(eid)
    head = {
        "experiment": experiment.model_dump(mode="json"),
        "layers": [li.model_dump() for li in store.layers(eid)],
        "marks": [m.model_dump(mode="json") for m in store.marks(eid)],
        "folds": None if folds is None else [f.model_dump() for f in folds],
        "preset": preset_of(experiment),
    }
    yield packer.feed(json.dumps(head)[:-1].encode() + b', "frames": [')
    total = len(store.frame_steps(eid))
    for i, frame in enumerate(thinned(frames(store, eid), total, MAX_HTML_FRAMES)):
        yield packer.feed((b"," if i else b"") + frame.model_dump_json().encode())
    yield packer.feed(b"]}") + packer.finish()
    yield b"</script>\n"
    yield after.encode()

import asyncio
import gzip
import json

from normscope.realtime import GzipCache, Hub, gzip_text


def _frame(step: int, width: int = 2000) -> str:
    return json.dumps({"type": "frame", "step": step, "counts": list(range(step, step + width))})


def test_gzip_text_is_a_gzip_member_of_the_utf8_text():
    text = _frame(10) + "ü"
    gz = gzip_text(text)
    assert gz[:2] == b"\x1f\x8b"  # the gzip magic: what DecompressionStream("gzip") expects
    assert gzip.decompress(gz).decode() == text
    assert len(gz) < len(text.encode()) / 2


def test_the_cache_compresses_a_frame_once_and_again_when_it_changes():
    cache = GzipCache()
    text = _frame(10)
    first = cache.get("e1", 10, text)
    assert cache.get("e1", 10, text) is first  # a second viewer gets the same bytes
    merged = text.replace(
        '"step": 10', '"step": 10, "late": true'
    )  # a late part merged into the stored frame
    changed = cache.get("e1", 10, merged)
    assert gzip.decompress(changed).decode() == merged
    assert cache.get("e2", 10, text) is not first  # another experiment's frame of that step is its own
    assert len(cache) == 3


def test_the_cache_keeps_the_recently_used_within_its_bytes():
    one = len(gzip_text(_frame(0)))
    cache = GzipCache(max_bytes=3 * one + one // 2)
    kept = [cache.get("e", s, _frame(s)) for s in range(3)]
    cache.get("e", 0, _frame(0))  # used again: the oldest is now step 1
    cache.get("e", 3, _frame(3))
    assert len(cache) == 3 and cache.size <= cache.max_bytes
    assert cache.get("e", 0, _frame(0)) is kept[0]
    assert cache.get("e", 1, _frame(1)) is not kept[1]  # evicted, compressed anew


def test_the_hub_knows_which_topics_have_gzip_subscribers():
    async def main() -> None:
        hub = Hub()
        async with hub.subscribe("e1") as plain:
            assert not hub.wants_gzip("e1")
            async with hub.subscribe("e1", gzip=True) as packed, hub.subscribe("e1", gzip=True):
                assert hub.wants_gzip("e1") and not hub.wants_gzip("e2")
                hub.publish("e1", "frame", droppable=True, gz=b"gz")
                assert (await packed.get()).gz == b"gz" and packed.gzip and not plain.gzip
            assert not hub.wants_gzip("e1")
            assert (await plain.get()).text == "frame"

    asyncio.run(main())

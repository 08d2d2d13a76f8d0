import asyncio

from normscope.realtime import Hub, HubFull, Message, Subscriber


def test_full_queue_drops_the_oldest_frame_never_a_status():
    sub = Subscriber(maxlen=3)
    sub.put(Message("status-1", droppable=False))
    for i in range(5):
        sub.put(Message(f"frame-{i}", droppable=True))
    assert [m.text for m in sub._queue] == ["status-1", "frame-3", "frame-4"]
    assert sub.dropped == 3
    sub.put(Message("status-2", droppable=False))
    assert [m.text for m in sub._queue] == ["status-1", "frame-4", "status-2"]


def test_a_queue_of_status_messages_refuses_frames_but_keeps_statuses():
    sub = Subscriber(maxlen=2)
    for i in range(3):
        sub.put(Message(f"s{i}", droppable=False))
    sub.put(Message("frame", droppable=True))
    assert [m.text for m in sub._queue] == ["s0", "s1", "s2"]


def test_a_newer_state_replaces_its_queued_copy_and_is_never_dropped_for_frames():
    sub = Subscriber(maxlen=3)
    sub.put(Message("view-1", droppable=False, latest="view"))
    sub.put(Message("frame-1", droppable=True))
    sub.put(Message("view-2", droppable=False, latest="view"))  # a viewer gets the newest view, not a backlog
    assert [m.text for m in sub._queue] == ["frame-1", "view-2"]
    for i in range(2, 6):
        sub.put(Message(f"frame-{i}", droppable=True))
    assert [m.text for m in sub._queue] == ["view-2", "frame-4", "frame-5"]
    assert sub.dropped == 3  # frames only; the replaced view is not counted as a drop


def test_publish_delivers_the_same_object_to_every_subscriber_and_unsubscribes():
    async def main() -> None:
        hub = Hub(queue_size=4)
        async with hub.subscribe("e1") as a, hub.subscribe("e1") as b, hub.subscribe("e2") as other:
            assert hub.publish("e1", "payload", droppable=True) == 2
            ma, mb = await a.get(), await b.get()
            assert ma is mb  # encoded once, shared
            assert len(other) == 0
            slow = b
            for i in range(10):
                hub.publish("e1", f"f{i}", droppable=True)
            assert len(slow) == 4 and (await a.get()).text == "f6"
        assert hub.subscriber_count() == 0

    asyncio.run(main())


def test_get_waits_for_a_message():
    async def main() -> str:
        hub = Hub()
        async with hub.subscribe("t") as sub:
            asyncio.get_running_loop().call_later(0.05, hub.publish, "t", "late", False)
            return (await asyncio.wait_for(sub.get(), 2)).text

    assert asyncio.run(main()) == "late"


def test_replies_wait_one_of_each_kind_so_a_client_that_never_reads_costs_nothing():
    async def main() -> None:
        sub = Subscriber(maxlen=4)
        for _ in range(1000):
            sub.reply("error", "bad message")
        sub.reply("pong", "pong")
        assert [m.text for m in sub._queue] == ["bad message", "pong"] and sub.replies_dropped == 999
        assert (await sub.get()).text == "bad message"
        assert sub.reply("error", "again")  # once sent, the next one of that kind may wait again

    asyncio.run(main())


def test_close_comes_after_what_is_queued():
    async def main() -> None:
        hub = Hub()
        async with hub.subscribe("t") as sub:
            hub.publish("t", "last status", droppable=False)
            assert hub.close_topic("t", 4410, "experiment deleted") == 1
            assert (await sub.get()).text == "last status"
            assert (await sub.get()).close == (4410, "experiment deleted")

    asyncio.run(main())


def test_the_subscriber_limit_counts_every_topic():
    async def main() -> None:
        hub = Hub()
        async with hub.subscribe("a", limit=2), hub.subscribe("b", limit=2):
            try:
                async with hub.subscribe("c", limit=2):
                    raise AssertionError("a third subscriber got in")
            except HubFull:
                pass
            assert hub.subscriber_count() == 2
        assert hub.subscriber_count() == 0

    asyncio.run(main())

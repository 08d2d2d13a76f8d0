import threading

import pytest

from normscope.engine.offload import Offload


def test_jobs_run_in_order_on_one_other_thread():
    done: list[tuple[int, str]] = []
    off = Offload("t", depth=2)
    for i in range(20):
        off.submit(lambda i=i: done.append((i, threading.current_thread().name)))
    off.flush()
    assert [i for i, _ in done] == list(range(20))
    assert {name for _, name in done} == {"t"}
    off.close()


def test_a_full_queue_makes_the_caller_wait():
    gate = threading.Event()
    off = Offload("t", depth=1)
    off.submit(lambda: gate.wait(5))  # running
    off.submit(lambda: None)  # waiting: the queue is full
    third = threading.Thread(target=off.submit, args=(lambda: None,))
    third.start()
    third.join(0.3)
    assert third.is_alive()
    gate.set()
    third.join(5)
    assert not third.is_alive()
    off.close()


def test_a_failure_is_raised_to_the_caller_once_and_the_jobs_after_it_are_dropped():
    ran: list[int] = []
    off = Offload("t")
    off.submit(lambda: ran.append(1))
    off.submit(lambda: 1 / 0)
    off.submit(lambda: ran.append(3))
    with pytest.raises(ZeroDivisionError):
        off.flush()
    assert ran == [1]
    off.submit(lambda: ran.append(4))  # told once; later jobs run again
    off.close()
    assert ran == [1, 4]

"""The frame merger: one frame per step from the groups' parts, and a slow group never holds the view back."""

from normscope.groups import describe, split
from normscope.groups.merge import FrameMerger, merge_late
from normscope.schemas import Frame, RunFrame

GROUPS = [[0, 1], [2, 3], [4]]


def part(group: int, step: int, status: str = "running") -> Frame:
    runs = [
        RunFrame(index=i, status=status, loss=[float(step)], train_acc=0.5, layers=[]) for i in GROUPS[group]
    ]
    return Frame(step=step, prev_step=step - 10, sent_at=float(group), elapsed=step / 10 + group, runs=runs)


def steps(merged: list) -> list[tuple[int, bool, list[int]]]:
    return [(m.frame.step, m.late, [rf.index for rf in m.frame.runs]) for m in merged]


def test_split_covers_every_variant_once_in_order() -> None:
    assert split(16, 4) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]
    assert split(5, 2) == [[0, 1], [2, 3], [4]]
    assert split(3, 8) == [[0, 1, 2]]
    assert describe([4, 5, 6, 7]) == "variants 4–7" and describe([4]) == "variant 4"


def test_a_step_goes_out_once_every_group_has_sent_it_with_runs_in_index_order() -> None:
    m = FrameMerger(GROUPS)
    assert m.add(2, part(2, 10)) == []
    assert m.add(0, part(0, 10)) == []
    out = m.add(1, part(1, 10))
    assert steps(out) == [(10, False, [0, 1, 2, 3, 4])]
    frame = out[0].frame
    assert frame.prev_step == 0 and frame.sent_at == 2.0 and frame.elapsed == 3.0  # the latest, the longest


def test_a_slow_group_is_waited_for_max_lag_steps_then_its_part_comes_late() -> None:
    m = FrameMerger(GROUPS, max_lag=2)
    for g in (0, 1):
        assert m.add(g, part(g, 10)) == [] and m.add(g, part(g, 20)) == []
    out = []
    for g in (0, 1):
        out += m.add(g, part(g, 30))
    assert steps(out) == [(10, False, [0, 1, 2, 3])]  # three steps waiting: the oldest goes without group 2
    assert steps(m.add(2, part(2, 10))) == [(10, True, [4])]  # for the stored frame, not the live view
    assert steps(m.add(2, part(2, 20))) == [(20, False, [0, 1, 2, 3, 4])]  # caught up: whole again
    assert steps(m.add(2, part(2, 30))) == [(30, False, [0, 1, 2, 3, 4])]


def test_a_group_that_ended_is_carried_as_stubs_with_its_last_status() -> None:
    m = FrameMerger(GROUPS)
    m.add(2, part(2, 10, "diverged"))
    m.add(0, part(0, 10))
    assert steps(m.add(1, part(1, 10))) == [(10, False, [0, 1, 2, 3, 4])]
    assert m.end(2, part(2, 10, "diverged").runs) == []
    m.add(0, part(0, 20))
    frame = m.add(1, part(1, 20))[0].frame
    stub = frame.runs[4]
    assert (stub.index, stub.status, stub.loss, stub.layers, stub.train_acc) == (4, "diverged", [], [], None)


def test_a_failed_group_is_left_out_and_no_longer_waited_for() -> None:
    m = FrameMerger(GROUPS)
    m.add(0, part(0, 10))
    m.add(1, part(1, 10))
    assert steps(m.fail(2)) == [(10, False, [0, 1, 2, 3])]
    m.add(0, part(0, 20))
    assert steps(m.add(1, part(1, 20))) == [(20, False, [0, 1, 2, 3])]


def test_a_late_part_merges_into_the_stored_frame() -> None:
    stored = Frame(step=10, prev_step=0, runs=part(0, 10).runs + part(1, 10).runs)
    merged = merge_late(stored, part(2, 10))
    assert [rf.index for rf in merged.runs] == [0, 1, 2, 3, 4]
    assert merged.step == 10 and merged.prev_step == 0 and merged.runs[4] == part(2, 10).runs[0]

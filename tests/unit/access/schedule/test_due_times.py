"""The due-time heap against a plain dict of each key's latest time: whatever the puts,
removals, pops and keeps, it yields what the dict says is due, earliest first, and its
superseded entries stay bounded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.access.schedule.due_times import SWEEP_SLACK, DueTimes

T0 = datetime(2026, 1, 1, tzinfo=UTC)

step = st.one_of(
    st.tuples(st.just("put"), st.integers(0, 9), st.integers(0, 50)),
    st.tuples(st.just("remove"), st.integers(0, 9), st.just(0)),
    st.tuples(st.just("pop"), st.just(0), st.integers(0, 50)),
    st.tuples(st.just("keep_first"), st.integers(0, 10), st.just(0)),
)


@given(st.lists(step, max_size=80))
def test_what_is_due_is_what_each_key_was_last_given(steps: list[tuple[str, int, int]]) -> None:
    due: DueTimes[int] = DueTimes()
    model: dict[int, datetime] = {}
    for op, key, minutes in steps:
        at = T0 + timedelta(minutes=minutes)
        if op == "put":
            due.put(key, at)
            model[key] = at
        elif op == "remove":
            due.remove(key)
            model.pop(key, None)
        elif op == "pop":
            expected = sorted(((k, t) for k, t in model.items() if t <= at),
                              key=lambda kt: kt[1])
            popped = due.pop_due(at)
            assert [t for _k, t in popped] == [t for _k, t in expected]
            assert {k for k, _t in popped} == {k for k, _t in expected}
            for k, _t in popped:
                del model[k]
        else:  # keep the `key` earliest, as a capacity's bring-in does
            kept = sorted(due.live())[:key]
            due.keep(kept)
            model = {k: t for t, _n, k in kept}
        assert len(due) == len(model)
        assert due.next_due() == min(model.values(), default=None)


def test_superseded_entries_are_swept() -> None:
    due: DueTimes[str] = DueTimes()
    for n in range(10 * SWEEP_SLACK):
        due.put("moved", T0 + timedelta(seconds=n))
    assert len(due.live()) == 1
    assert len(due._heap) <= 2 + SWEEP_SLACK + 1
    last = T0 + timedelta(seconds=10 * SWEEP_SLACK - 1)
    assert due.pop_due(T0 + timedelta(days=1)) == [("moved", last)]

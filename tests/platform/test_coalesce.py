"""The coalescer (server/platform/coalesce.py): concurrent calls flushed together, each
caller given its own answer."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.platform.coalesce import Coalescer


class Recorder:
    def __init__(self, delay: float = 0.002, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.delay = delay
        self.fail_on = fail_on

    async def flush(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        await asyncio.sleep(self.delay)
        if self.fail_on is not None and self.fail_on in items:
            raise ValueError(f"bad item {self.fail_on}")
        return [item * 10 for item in items]


@settings(max_examples=40, deadline=None)
@given(
    waves=st.lists(st.integers(1, 30), min_size=1, max_size=6),
    max_items=st.integers(1, 16),
    max_inflight=st.integers(1, 3),
)
def test_every_caller_gets_its_own_answer_and_items_go_in_few_batches(
    waves: list[int], max_items: int, max_inflight: int
) -> None:
    async def run() -> tuple[list[int], list[int], Recorder]:
        recorder = Recorder()
        coalescer = Coalescer(recorder.flush, max_items=max_items, max_inflight=max_inflight)
        items: list[int] = []
        tasks = []
        for size in waves:  # waves of concurrent callers, a little apart
            wave = list(range(len(items), len(items) + size))
            items += wave
            tasks += [asyncio.create_task(coalescer.submit(i)) for i in wave]
            await asyncio.sleep(0.001)
        return items, list(await asyncio.gather(*tasks)), recorder

    items, answers, recorder = asyncio.run(run())
    assert answers == [i * 10 for i in items]
    flushed = [i for batch in recorder.batches for i in batch]
    assert sorted(flushed) == items  # each item flushed exactly once
    assert all(1 <= len(batch) <= max_items for batch in recorder.batches)
    if max_items > 1 and max(waves) > 1:
        # a wave's callers all submit before the coalescer's next turn: they share a flush
        # (two waves of one caller each may rightly take one flush each)
        assert len(recorder.batches) < len(items)  # coalesced, not one call per item


async def test_a_failed_flush_fails_its_batch_and_the_next_batch_still_runs() -> None:
    recorder = Recorder(fail_on=1)
    coalescer = Coalescer(recorder.flush)
    first = [asyncio.create_task(coalescer.submit(i)) for i in (0, 1, 2)]
    await asyncio.sleep(0)  # the first batch is on its way
    later = asyncio.create_task(coalescer.submit(7))
    outcomes = await asyncio.gather(*first, return_exceptions=True)
    assert all(isinstance(o, ValueError) for o in outcomes)
    assert await later == 70
    assert recorder.batches == [[0, 1, 2], [7]]


async def test_a_caller_that_stops_waiting_does_not_stop_the_others() -> None:
    recorder = Recorder(delay=0.02)
    coalescer = Coalescer(recorder.flush)
    quitter = asyncio.create_task(coalescer.submit(1))
    stayer = asyncio.create_task(coalescer.submit(2))
    await asyncio.sleep(0.005)
    quitter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await quitter
    assert await stayer == 20
    assert recorder.batches == [[1, 2]]  # its item was written all the same

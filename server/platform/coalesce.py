"""Coalescing concurrent calls into one: group commit for the hot paths.

A :class:`Coalescer` takes items from concurrent requests and hands them to one ``flush``
call (one SQL statement, one Redis script) instead of one call each. Nothing waits on a
timer: the first item of an idle coalescer is flushed on the event loop's next turn (so
the requests that arrive in the same turn go with it); items that come while a flush is
in flight wait for it and go together in the next one. An idle server answers as fast as
before, and a busy one pays one round trip per batch, not per request.

A failed flush fails every item of its batch with the same exception; the callers decide
(retry one by one, or answer the error). A caller that is cancelled only stops waiting:
its item is still flushed with the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

Flush = Callable[[list[T]], Awaitable[Sequence[R]]]


class Coalescer(Generic[T, R]):
    """Batches of at most ``max_items``, at most ``max_inflight`` flushes at a time."""

    def __init__(self, flush: Flush[T, R], max_items: int = 256, max_inflight: int = 1) -> None:
        self._flush = flush
        self.max_items = max_items
        self.max_inflight = max_inflight
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._inflight = 0
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0
        """Flushes so far (for the bench and the tests: how much was coalesced)."""

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        self._schedule()
        return await future

    def _schedule(self) -> None:
        if self._scheduled or self._inflight >= self.max_inflight or not self._waiting:
            return
        self._scheduled = True
        asyncio.get_running_loop().call_soon(self._start)

    def _start(self) -> None:
        self._scheduled = False
        while self._waiting and self._inflight < self.max_inflight:
            batch = self._waiting[: self.max_items]
            del self._waiting[: self.max_items]
            self._inflight += 1
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._flush([item for item, _ in batch])
        except Exception as exc:  # every waiter learns it
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        except BaseException:  # the loop is shutting down
            for _, future in batch:
                future.cancel()
            raise
        else:
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
        finally:
            self.batches += 1
            self._inflight -= 1
            self._schedule()

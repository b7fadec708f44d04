"""The WebSocket hub of one server process: fan-out of seat-map deltas and fill gauges.

Each process subscribes (Redis pub/sub) to the sessions its clients watch. Changes of a
session are coalesced over a short window, merged into one batch, encoded **once** per
encoding, and the same bytes are queued to every local subscriber. Every subscriber has a
bounded send queue; a client that falls behind is told to resync instead of growing memory.
A session whose Redis mirror vanished (flush, restart) is rebuilt from Postgres and every
subscriber gets a fresh snapshot under the new epoch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

import redis.asyncio as redis

from seatmap.deltas import Batch, Change, merge, missed_changes
from seatmap.states import encode_runs, encode_states
from server.errors import ApiError
from server.live import (
    REDIS_DOWN,
    Keys,
    Live,
    Snapshot,
    channel_name,
    parse_change,
    session_of_channel,
)
from server.protocol import ChannelKind, ServerType
from server.pubsub import Relay
from server.subscriber import Encoded, OutFrame, Subscriber

log = logging.getLogger(__name__)


class Feed:
    """The local subscribers of one session's seat map and fill gauge, and its batching."""

    def __init__(self, session_id: int) -> None:
        self.session_id = session_id
        self.seats: set[Subscriber] = set()
        self.gauges: set[Subscriber] = set()
        self.epoch = ""
        self.seq = 0
        self.pending: list[Change] = []
        self.flushing = False
        self.confirmed = asyncio.Event()
        self.ready = asyncio.Event()

    @property
    def empty(self) -> bool:
        return not self.seats and not self.gauges

    @property
    def seats_channel(self) -> str:
        return f"{ChannelKind.SEATS.value}:{self.session_id}"

    @property
    def gauge_channel(self) -> str:
        return f"{ChannelKind.GAUGE.value}:{self.session_id}"


def snapshot_message(channel: str, snap: Snapshot, runs: bool = False) -> dict[str, Any]:
    """A seat-map snapshot; its states as one digit per seat, or as ``[state, count]`` runs
    for clients that subscribed with ``"format": "runs"``."""
    message: dict[str, Any] = {
        "type": ServerType.SNAPSHOT.value,
        "channel": channel,
        "epoch": snap.epoch,
        "seq": snap.seq,
        "seat_count": snap.seat_count,
        "capacity": snap.capacity,
        "sold": snap.sold,
        "held": snap.held,
        "free": snap.free,
    }
    if runs:
        message["runs"] = encode_runs(snap.seat_count, snap.states)
    else:
        message["states"] = encode_states(snap.seat_count, snap.states)
    return message


def gauge_message(
    channel: str, epoch: str, seq: int, capacity: int, sold: int, held: int
) -> dict[str, Any]:
    return {
        "type": ServerType.GAUGE.value,
        "channel": channel,
        "epoch": epoch,
        "seq": seq,
        "capacity": capacity,
        "sold": sold,
        "held": held,
        "free": max(capacity - sold - held, 0),
    }


def delta_message(channel: str, batch: Batch) -> dict[str, Any]:
    return {
        "type": ServerType.DELTA.value,
        "channel": channel,
        "epoch": batch.epoch,
        "from": batch.first_seq,
        "seq": batch.last_seq,
        "changes": batch.seat_pairs(),
        "capacity": batch.capacity,
        "sold": batch.sold,
        "held": batch.held,
        "free": batch.free,
    }


class Hub:
    def __init__(self, live: Live, client: redis.Redis, batch_window_ms: int = 20) -> None:
        self.live = live
        self.redis = client
        self.window = batch_window_ms / 1000
        self.feeds: dict[int, Feed] = {}
        self.relay = Relay(client, self._on_message, self._on_subscribed, self._resnapshot_all)
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[None]] = set()
        self._laggards: set[Subscriber] = set()

    def lagging(self, sub: Subscriber) -> None:
        """A client fell behind; the watchdog tells it to resync once it drains."""
        self._laggards.add(sub)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def start(self) -> None:
        await self.relay.start()
        self._tasks = [asyncio.create_task(self._watchdog())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.relay.stop()

    # -- subscriptions ---------------------------------------------------------------------

    async def subscribe(
        self, sub: Subscriber, kind: ChannelKind, session_id: int, since: tuple[str, int] | None
    ) -> None:
        feed = await self._feed(session_id)
        channel = f"{kind.value}:{session_id}"
        sub.hold_back(channel)
        (feed.seats if kind is ChannelKind.SEATS else feed.gauges).add(sub)
        try:
            first = await self._first_frame(sub, kind, channel, session_id, since)
        except BaseException:
            self._discard(sub, feed, kind)
            sub.release(channel, None)
            raise
        sub.release(channel, first)

    async def _first_frame(
        self,
        sub: Subscriber,
        kind: ChannelKind,
        channel: str,
        session_id: int,
        since: tuple[str, int] | None,
    ) -> OutFrame:
        codec = sub.codec
        if kind is ChannelKind.SEATS and since is not None:
            epoch, seq, log_entries = await self.live.changes_since(session_id, since[1])
            if epoch == since[0] and since[1] <= seq:
                missed = missed_changes(log_entries, since[1], seq)
                if missed == []:
                    return OutFrame.of(
                        codec,
                        {
                            "type": ServerType.DELTA.value,
                            "channel": channel,
                            "epoch": epoch,
                            "from": seq + 1,
                            "seq": seq,
                            "changes": [],
                        },
                    )
                if missed:
                    batch = merge(missed)
                    assert batch is not None
                    return OutFrame.of(codec, delta_message(channel, batch))
        snap = await self.live.snapshot(session_id)
        if kind is ChannelKind.SEATS:
            return OutFrame.of(codec, snapshot_message(channel, snap, channel in sub.runs))
        return OutFrame.of(
            codec, gauge_message(channel, snap.epoch, snap.seq, snap.capacity, snap.sold, snap.held)
        )

    async def unsubscribe(self, sub: Subscriber, kind: ChannelKind, session_id: int) -> bool:
        feed = self.feeds.get(session_id)
        if feed is None:
            return False
        found = sub in (feed.seats if kind is ChannelKind.SEATS else feed.gauges)
        self._discard(sub, feed, kind)
        return found

    def _discard(self, sub: Subscriber, feed: Feed, kind: ChannelKind) -> None:
        (feed.seats if kind is ChannelKind.SEATS else feed.gauges).discard(sub)
        if feed.empty:
            self.feeds.pop(feed.session_id, None)
            self._spawn(self._unsubscribe_channel(feed.session_id))

    async def _unsubscribe_channel(self, session_id: int) -> None:
        if session_id not in self.feeds:
            await self.relay.unsubscribe(channel_name(session_id))

    def forget(self, sub: Subscriber) -> None:
        for feed in list(self.feeds.values()):
            for kind in (ChannelKind.SEATS, ChannelKind.GAUGE):
                if sub in (feed.seats if kind is ChannelKind.SEATS else feed.gauges):
                    self._discard(sub, feed, kind)

    async def _feed(self, session_id: int) -> Feed:
        feed = self.feeds.get(session_id)
        if feed is None:
            feed = self.feeds[session_id] = Feed(session_id)
            try:
                await self.relay.subscribe(channel_name(session_id))
            except ApiError:
                self.feeds.pop(session_id, None)
                raise
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(feed.confirmed.wait(), 2)
                await self.live.ensure_loaded(session_id)
                feed.epoch, feed.seq = await self.live.position(session_id)
            finally:
                feed.ready.set()
        else:
            await feed.ready.wait()
        return feed

    # -- delivery --------------------------------------------------------------------------

    async def _resnapshot_all(self) -> None:
        """After a lost pub/sub connection: messages may be missing, resync everyone."""
        for feed in list(self.feeds.values()):
            await self._resnapshot(feed)

    def _on_subscribed(self, channel: str) -> None:
        feed = self.feeds.get(session_of_channel(channel))
        if feed is not None:
            feed.confirmed.set()

    def _on_message(self, channel: str, data: bytes) -> None:
        feed = self.feeds.get(session_of_channel(channel))
        if feed is None:
            return
        change = parse_change(data)
        if change.epoch != feed.epoch or change.seq == 0:
            self._spawn(self._resnapshot(feed))
            return
        feed.pending.append(change)
        if not feed.flushing:
            feed.flushing = True
            asyncio.get_running_loop().call_later(self.window, self._flush, feed)

    def _flush(self, feed: Feed) -> None:
        feed.flushing = False
        pending, feed.pending = feed.pending, []
        if not pending or feed.epoch != pending[0].epoch:
            return
        pending.sort(key=lambda c: c.seq)
        if pending[0].seq > feed.seq + 1:
            log.info("session %s: gap in published changes; resnapshot", feed.session_id)
            self._spawn(self._resnapshot(feed))
            return
        batch = merge(pending)
        assert batch is not None
        feed.seq = max(feed.seq, batch.last_seq)
        if feed.seats:
            channel = feed.seats_channel
            encoded = Encoded(delta_message(channel, batch))
            for sub in feed.seats:
                sub.push(encoded.frame(sub.codec), channel)
        if feed.gauges:
            channel = feed.gauge_channel
            encoded = Encoded(
                gauge_message(
                    channel, batch.epoch, batch.last_seq, batch.capacity, batch.sold, batch.held
                )
            )
            for sub in feed.gauges:
                sub.push(encoded.frame(sub.codec), channel)

    async def _resnapshot(self, feed: Feed) -> None:
        """Send every subscriber of the feed a fresh snapshot (new epoch or lost messages)."""
        try:
            snap = await self.live.snapshot(feed.session_id)
        except ApiError:
            return
        if snap.epoch == feed.epoch and snap.seq <= feed.seq:
            return  # nothing the subscribers have not had (e.g. a second notice of a reset)
        feed.epoch, feed.seq = snap.epoch, snap.seq
        feed.pending = [c for c in feed.pending if c.epoch == snap.epoch and c.seq > snap.seq]
        channel = feed.seats_channel
        digits = Encoded(snapshot_message(channel, snap))
        runs = Encoded(snapshot_message(channel, snap, runs=True))  # encoded only if needed
        for sub in list(feed.seats):
            sub.push((runs if channel in sub.runs else digits).frame(sub.codec), channel)
        gauge = Encoded(
            gauge_message(
                feed.gauge_channel, snap.epoch, snap.seq, snap.capacity, snap.sold, snap.held
            )
        )
        for sub in list(feed.gauges):
            sub.push(gauge.frame(sub.codec), feed.gauge_channel)

    async def _watchdog(self) -> None:
        """Notice a Redis flush or restart: rebuild watched sessions, resync their clients.
        Also tells lagging clients to resync once their backlog has drained."""
        while True:
            await asyncio.sleep(0.2)
            if self._laggards:
                self._laggards = {sub for sub in self._laggards if not sub.drained()}
            feeds = list(self.feeds.values())
            if not feeds:
                continue
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for feed in feeds:
                        pipe.hget(Keys(feed.session_id).meta, "epoch")
                    epochs = await pipe.execute()
                for feed, epoch in zip(feeds, epochs, strict=True):
                    if epoch is None:
                        await self.live.ensure_loaded(feed.session_id)
                        await self._resnapshot(feed)
                    elif epoch.decode() != feed.epoch:
                        await self._resnapshot(feed)
            except asyncio.CancelledError:
                raise
            except (ApiError, *REDIS_DOWN):
                continue
            except Exception:
                log.exception("hub watchdog error")

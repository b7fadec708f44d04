"""The seat-map feed: channels ``seats:<session>`` (snapshot, then coalesced deltas) and
``gauge:<session>`` (capacity, sold, held, free), both fed by the session's change topic.

A session whose Redis mirror vanished (flush, restart) is rebuilt from Postgres and every
subscriber gets a fresh snapshot under the new epoch; a gap in the published changes does the
same. A client that resubscribes with ``since`` gets exactly the changes it missed from the
session log, or a snapshot when the log no longer reaches back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from seatmap.deltas import Batch, Change, merge, missed_changes
from seatmap.states import encode_runs, encode_states
from server.platform.errors import DomainError, Unavailable
from server.platform.scripts import REDIS_DOWN
from server.realtime.channels import Background, Feed, SubscribeOptions, Topic
from server.realtime.protocol import ChannelKind, ServerType, SnapshotFormat
from server.realtime.subscriber import Encoded, OutFrame, Subscriber
from server.seating.live import Keys, Live, Snapshot, channel_name, parse_change

log = logging.getLogger(__name__)


class SeatTopic(Topic):
    """A session's published changes: the position the local subscribers have reached and
    the changes waiting for the next flush."""

    def __init__(self, redis_channel: str, session_id: int) -> None:
        super().__init__(redis_channel, session_id)
        self.epoch = ""
        self.seq = 0
        self.pending: list[Change] = []


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


def up_to_date(channel: str, epoch: str, seq: int) -> dict[str, Any]:
    """The catch-up reply of a client that missed nothing: an empty delta."""
    return {
        "type": ServerType.DELTA.value,
        "channel": channel,
        "epoch": epoch,
        "from": seq + 1,
        "seq": seq,
        "changes": [],
    }


class SeatFeed(Feed[SeatTopic]):
    access = {ChannelKind.SEATS: None, ChannelKind.GAUGE: None}  # the public e-shop watches

    def __init__(self, live: Live, known_session: Callable[[int], Awaitable[object]]) -> None:
        self.live = live
        self.known_session = known_session
        self.background = Background()

    def topic_name(self, ident: int) -> str:
        return channel_name(ident)

    def new_topic(self, ident: int) -> SeatTopic:
        return SeatTopic(channel_name(ident), ident)

    async def check(self, ident: int) -> None:
        await self.known_session(ident)

    async def prepare(self, topic: SeatTopic) -> None:
        await self.live.ensure_loaded(topic.ident)
        topic.epoch, topic.seq = await self.live.position(topic.ident)

    async def first_frame(
        self, topic: SeatTopic, sub: Subscriber, kind: ChannelKind, options: SubscribeOptions
    ) -> OutFrame:
        codec, channel, session_id = sub.codec, topic.local(kind), topic.ident
        if kind is ChannelKind.SEATS and options.since is not None:
            since_epoch, since_seq = options.since
            epoch, seq, log_entries = await self.live.changes_since(session_id, since_seq)
            if epoch == since_epoch and since_seq <= seq:
                missed = missed_changes(log_entries, since_seq, seq)
                if missed == []:
                    return OutFrame.of(codec, up_to_date(channel, epoch, seq))
                if missed:
                    batch = merge(missed)
                    assert batch is not None
                    return OutFrame.of(codec, delta_message(channel, batch))
        snap = await self.live.snapshot(session_id)
        if kind is ChannelKind.SEATS:
            runs = options.snapshot_format is SnapshotFormat.RUNS
            return OutFrame.of(codec, snapshot_message(channel, snap, runs))
        return OutFrame.of(
            codec, gauge_message(channel, snap.epoch, snap.seq, snap.capacity, snap.sold, snap.held)
        )

    def accept(self, topic: SeatTopic, data: bytes) -> bool:
        change = parse_change(data)
        if change.epoch != topic.epoch or change.seq == 0:
            self.background.spawn(self.resync(topic))
            return False
        topic.pending.append(change)
        return True

    def flush(self, topic: SeatTopic) -> None:
        pending, topic.pending = topic.pending, []
        if not pending or topic.epoch != pending[0].epoch:
            return
        pending.sort(key=lambda c: c.seq)
        if pending[0].seq > topic.seq + 1:
            log.info("session %s: gap in published changes; resnapshot", topic.ident)
            self.background.spawn(self.resync(topic))
            return
        batch = merge(pending)
        assert batch is not None
        topic.seq = max(topic.seq, batch.last_seq)
        if topic.watchers(ChannelKind.SEATS):
            topic.push(
                ChannelKind.SEATS, Encoded(delta_message(topic.local(ChannelKind.SEATS), batch))
            )
        if topic.watchers(ChannelKind.GAUGE):
            gauge = gauge_message(
                topic.local(ChannelKind.GAUGE),
                batch.epoch,
                batch.last_seq,
                batch.capacity,
                batch.sold,
                batch.held,
            )
            topic.push(ChannelKind.GAUGE, Encoded(gauge))

    async def resync(self, topic: SeatTopic) -> None:
        """Send every subscriber a fresh snapshot (new epoch or lost messages)."""
        try:
            snap = await self.live.snapshot(topic.ident)
        except DomainError:
            return
        if snap.epoch == topic.epoch and snap.seq <= topic.seq:
            return  # nothing the subscribers have not had (e.g. a second notice of a reset)
        topic.epoch, topic.seq = snap.epoch, snap.seq
        topic.pending = [c for c in topic.pending if c.epoch == snap.epoch and c.seq > snap.seq]
        channel = topic.local(ChannelKind.SEATS)
        digits = Encoded(snapshot_message(channel, snap))
        runs = Encoded(snapshot_message(channel, snap, runs=True))  # encoded only if needed
        for sub in list(topic.watchers(ChannelKind.SEATS)):
            sub.push((runs if channel in sub.runs else digits).frame(sub.codec), channel)
        gauge = gauge_message(
            topic.local(ChannelKind.GAUGE),
            snap.epoch,
            snap.seq,
            snap.capacity,
            snap.sold,
            snap.held,
        )
        topic.push(ChannelKind.GAUGE, Encoded(gauge))

    async def watch(self, topics: Sequence[SeatTopic]) -> None:
        """Notice a Redis flush or restart: rebuild watched sessions, resync their clients."""
        try:
            async with self.live.redis.pipeline(transaction=False) as pipe:
                for topic in topics:
                    pipe.hget(Keys(topic.ident).meta, "epoch")
                epochs = await pipe.execute()
        except REDIS_DOWN as exc:
            raise Unavailable("live_unavailable", "the live seat service is unavailable") from exc
        for topic, epoch in zip(topics, epochs, strict=True):
            if epoch is None:
                await self.live.ensure_loaded(topic.ident)
                await self.resync(topic)
            elif epoch.decode() != topic.epoch:
                await self.resync(topic)

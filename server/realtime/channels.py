"""The channel registry of one process: every feed (seat maps, gauges, doors) plugs in here.

A client subscribes to a *channel* (``seats:12``); the feed that serves its kind maps it to a
*topic*, one Redis pub/sub channel (every change of session 12's seats), shared by all the
local channels it feeds (``seats:12`` and ``gauge:12``). The registry subscribes a topic in
Redis while a local client needs it and waits for Redis to confirm the subscription before
the first frame is read, so no change published in between is lost. Messages of a topic are
coalesced over the batching window and handed to its feed once, which encodes each frame
once per encoding for all its subscribers. After a lost pub/sub connection every topic is
resynchronised from the durable state; a client that fell behind is told to resync once it
has drained.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from server.identity.permissions import Needs
from server.platform.errors import DomainError, Unavailable
from server.platform.redis_client import Client
from server.realtime.protocol import ChannelKind, SnapshotFormat
from server.realtime.relay import Relay
from server.realtime.subscriber import Encoded, OutFrame, Subscriber

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 0.2
CONFIRM_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class SubscribeOptions:
    """What a ``subscribe`` message asks beyond its channel."""

    since: tuple[str, int] | None = None  # (epoch, seq) the client already has
    snapshot_format: SnapshotFormat = SnapshotFormat.DIGITS
    extra: Mapping[str, Any] = field(default_factory=dict)
    """The message's other fields, for the feed to read (a ``stats`` channel's ``period``)."""


class Topic:
    """One Redis pub/sub channel as this process sees it: the local channels it feeds and
    their subscribers. Feeds subclass it for their own state (position, pending changes)."""

    def __init__(self, redis_channel: str, ident: int) -> None:
        self.redis_channel = redis_channel
        self.ident = ident
        self.subscribers: dict[str, set[Subscriber]] = {}
        self.flushing = False
        self.confirmed = asyncio.Event()
        self.ready = asyncio.Event()

    @property
    def empty(self) -> bool:
        return not any(self.subscribers.values())

    def local(self, kind: ChannelKind) -> str:
        return f"{kind.value}:{self.ident}"

    def watchers(self, kind: ChannelKind) -> set[Subscriber]:
        return self.subscribers.get(self.local(kind), set())

    def push(self, kind: ChannelKind, encoded: Encoded) -> None:
        """Send one message to every local subscriber of a channel, encoded once per codec."""
        channel = self.local(kind)
        for sub in list(self.subscribers.get(channel, ())):
            sub.push(encoded.frame(sub.codec), channel)


TopicT = TypeVar("TopicT", bound=Topic)


class Feed(Generic[TopicT]):
    """One kind of live data. Subclasses say which channel kinds they serve and what watching
    each needs (``access``: ``None`` is anyone, else a permission or a tuple of which any
    suffices), and implement the hooks."""

    access: Mapping[ChannelKind, Needs | None] = {}
    ident_name = "session_id"
    """What the number of its channels names (``seats:<session_id>``)."""

    def topic_name(self, ident: int) -> str:
        raise NotImplementedError

    def new_topic(self, ident: int) -> TopicT:
        raise NotImplementedError

    async def check(self, ident: int) -> None:
        """Raise ``NotFound`` when there is nothing to watch under this id."""

    async def prepare(self, topic: TopicT) -> None:
        """Once Redis confirmed the subscription: read the topic's position."""

    async def first_frame(
        self, topic: TopicT, sub: Subscriber, kind: ChannelKind, options: SubscribeOptions
    ) -> OutFrame:
        raise NotImplementedError

    def accept(self, topic: TopicT, data: bytes) -> bool:
        """Take a published message; True when the topic should be flushed after the window."""
        raise NotImplementedError

    def flush(self, topic: TopicT) -> None:
        """Send what was coalesced since the last flush."""
        raise NotImplementedError

    async def resync(self, topic: TopicT) -> None:
        """Messages may have been lost (pub/sub reconnected): send fresh state."""

    async def watch(self, topics: Sequence[TopicT]) -> None:
        """Called every ``WATCH_INTERVAL_S`` with this feed's topics (e.g. to notice a flush)."""


class Background:
    """Fire-and-forget tasks kept referenced until they finish."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class ChannelRegistry:
    """Local subscriptions of one process, over one pub/sub connection for every feed."""

    def __init__(self, client: Client, batch_window_ms: int = 20) -> None:
        self.window = batch_window_ms / 1000
        self.feeds: dict[ChannelKind, Feed[Any]] = {}
        self.topics: dict[str, tuple[Feed[Any], Topic]] = {}
        self.relay = Relay(client, self._on_message, self._on_subscribed, self._resync_all)
        self.background = Background()
        self._laggards: set[Subscriber] = set()
        self._watchdog: asyncio.Task[None] | None = None

    def add(self, feed: Feed[Any]) -> None:
        for kind in feed.access:
            self.feeds[kind] = feed

    def access(self, kind: ChannelKind) -> Needs | None:
        return self.feeds[kind].access[kind]

    async def start(self) -> None:
        await self.relay.start()
        self._watchdog = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watchdog
        await self.relay.stop()

    def lagging(self, sub: Subscriber) -> None:
        """A client fell behind; the watchdog tells it to resync once it drains."""
        self._laggards.add(sub)

    # -- subscriptions ---------------------------------------------------------------------

    async def subscribe(
        self, sub: Subscriber, kind: ChannelKind, ident: int, options: SubscribeOptions
    ) -> None:
        feed = self.feeds[kind]
        await feed.check(ident)
        topic = await self._topic(feed, ident)
        channel = topic.local(kind)
        sub.hold_back(channel)
        topic.subscribers.setdefault(channel, set()).add(sub)
        try:
            first = await feed.first_frame(topic, sub, kind, options)
        except BaseException:
            self._discard(topic, channel, sub)
            sub.release(channel, None)
            raise
        sub.release(channel, first)

    def unsubscribe(self, sub: Subscriber, kind: ChannelKind, ident: int) -> bool:
        entry = self.topics.get(self.feeds[kind].topic_name(ident))
        if entry is None:
            return False
        topic = entry[1]
        channel = topic.local(kind)
        found = sub in topic.subscribers.get(channel, ())
        self._discard(topic, channel, sub)
        return found

    def forget(self, sub: Subscriber) -> None:
        """The connection closed: drop it from every channel."""
        self._laggards.discard(sub)
        for _, topic in list(self.topics.values()):
            for channel in list(topic.subscribers):
                self._discard(topic, channel, sub)

    def _discard(self, topic: Topic, channel: str, sub: Subscriber) -> None:
        subs = topic.subscribers.get(channel)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del topic.subscribers[channel]
        if topic.empty and topic.ready.is_set():
            self._drop(topic)

    def _drop(self, topic: Topic) -> None:
        if self.topics.get(topic.redis_channel, (None, None))[1] is topic:
            del self.topics[topic.redis_channel]
            self.background.spawn(self._unsubscribe_topic(topic.redis_channel))

    async def _unsubscribe_topic(self, name: str) -> None:
        if name not in self.topics:
            await self.relay.unsubscribe(name)

    async def _topic(self, feed: Feed[Any], ident: int) -> Topic:
        name = feed.topic_name(ident)
        entry = self.topics.get(name)
        if entry is not None:
            await entry[1].ready.wait()
            if self.topics.get(name) is entry:
                return entry[1]
            return await self._topic(feed, ident)  # it failed to prepare meanwhile
        topic: Topic = feed.new_topic(ident)
        self.topics[name] = (feed, topic)
        try:
            await self.relay.subscribe(name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(topic.confirmed.wait(), CONFIRM_TIMEOUT_S)
            await feed.prepare(topic)
        except BaseException:
            topic.ready.set()
            self._drop(topic)
            raise
        topic.ready.set()
        return topic

    # -- delivery --------------------------------------------------------------------------

    def _on_subscribed(self, name: str) -> None:
        entry = self.topics.get(name)
        if entry is not None:
            entry[1].confirmed.set()

    def _on_message(self, name: str, data: bytes) -> None:
        entry = self.topics.get(name)
        if entry is None:
            return
        feed, topic = entry
        if feed.accept(topic, data) and not topic.flushing:
            topic.flushing = True
            asyncio.get_running_loop().call_later(self.window, self._flush, feed, topic)

    def _flush(self, feed: Feed[Any], topic: Topic) -> None:
        topic.flushing = False
        feed.flush(topic)

    async def _resync_all(self) -> None:
        """After a lost pub/sub connection: messages may be missing, resync every topic."""
        for feed, topic in list(self.topics.values()):
            try:
                await feed.resync(topic)
            except DomainError:
                continue

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)
            if self._laggards:
                self._laggards = {sub for sub in self._laggards if not sub.drained()}
            by_feed: dict[int, tuple[Feed[Any], list[Topic]]] = {}
            for feed, topic in self.topics.values():
                by_feed.setdefault(id(feed), (feed, []))[1].append(topic)
            for feed, topics in by_feed.values():
                try:
                    await feed.watch(topics)
                except asyncio.CancelledError:
                    raise
                except Unavailable:
                    continue
                except Exception:
                    log.exception("channel watchdog error in %s", type(feed).__name__)

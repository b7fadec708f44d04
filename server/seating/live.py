"""The live layer in Redis: a typed wrapper over the Lua scripts in ``server/seating/lua``.

Every read-modify-write of a session's seat mirror is one Lua script, so it is atomic;
every key of one session shares the hash tag ``{s:<id>}`` (Redis Cluster ready). Holds live
only here; sold and blocked seats are rebuilt from Postgres whenever a session's mirror is
missing (after a flush or restart), under a new epoch.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from seatmap.deltas import Change
from seatmap.holds import CLAIM_GRACE_MS
from seatmap.states import SeatState, state_of_redis_value
from server.platform.errors import Unavailable
from server.platform.failpoints import switched_off
from server.platform.redis_client import Client
from server.platform.scripts import REDIS_DOWN, ScriptRunner, drop_idle_connections

log = logging.getLogger(__name__)


def session_prefix(session_id: int) -> str:
    return f"gq:{{s:{session_id}}}:"


def channel_name(session_id: int) -> str:
    return session_prefix(session_id) + "ch"


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """What Postgres knows about a session's seats: enough to rebuild its Redis mirror."""

    session_id: int
    seat_count: int  # 0 for general admission
    capacity: int  # sellable places: seats not blocked, or the GA capacity
    sold: int
    sold_seats: Sequence[int]
    blocked_seats: Sequence[int]
    # Outbox entries pending in the same snapshot: their effect is in these facts.
    applied: Sequence[int] = ()
    ends_at_ms: int = 0  # when the session ends (its live keys go a day later)


@dataclass(frozen=True, slots=True)
class Snapshot:
    epoch: str
    seq: int
    seat_count: int
    capacity: int
    sold: int
    held: int
    states: dict[int, SeatState]

    @property
    def free(self) -> int:
        return max(self.capacity - self.sold - self.held, 0)


@dataclass(frozen=True, slots=True)
class HoldInfo:
    token: str
    seats: list[int]
    quantity: int
    expires_ms: int
    cap_ms: int


class HoldRefused(Exception):
    """A hold, claim or release the live layer refused, with a stable reason."""

    def __init__(self, reason: str, seats: Sequence[int] = (), available: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.seats = list(seats)
        self.available = available


class Keys:
    """Redis keys of one session."""

    __slots__ = ("channel", "exp", "log", "meta", "prefix", "seats")

    def __init__(self, session_id: int) -> None:
        self.prefix = session_prefix(session_id)
        self.meta = self.prefix + "meta"
        self.seats = self.prefix + "seats"
        self.log = self.prefix + "log"
        self.exp = self.prefix + "exp"
        self.channel = self.prefix + "ch"

    def token(self, token: str) -> tuple[str, str]:
        return self.prefix + "tok:" + token, self.prefix + "tok:" + token + ":seats"


# Sessions with holds (for the sweeper) and sessions that ended (for the janitor): sorted
# sets spread over MARK_BUCKETS keys, each with its own hash tag, so that on a Redis Cluster
# the marks are not all on one shard. A session's bucket is its id modulo MARK_BUCKETS.
MARK_BUCKETS = 8


def live_sessions_key(session_id: int) -> str:
    """zset: session -> latest hold expiry, for the sweeper."""
    return f"gq:{{live:{session_id % MARK_BUCKETS}}}:sessions"


def ended_sessions_key(session_id: int) -> str:
    """zset: session -> when its live keys may go, for the janitor."""
    return f"gq:{{ended:{session_id % MARK_BUCKETS}}}:sessions"


LIVE_BUCKETS = [live_sessions_key(b) for b in range(MARK_BUCKETS)]
# Before the buckets, one set: still read (never written), so the holds made before an
# upgrade expire; it empties itself as their sessions' marks age out.
LEGACY_LIVE_SESSIONS = "gq:live-sessions"
ENDED_BUCKETS = [ended_sessions_key(b) for b in range(MARK_BUCKETS)]
# A process re-marks a session in its live bucket after a hold only when a second has passed
# since it last did or the hold expires more than a second after the expiry written then
# (far below the sweeper's margin): about one ZADD per second and session, not one per hold.
LIVE_MARK_SLACK_MS = 1000
CANDIDATES_TTL_S = 3600  # best-available candidates of a session, rebuilt when missing
RETAIN_AFTER_END_MS = 24 * 3600 * 1000


def parse_change(raw: bytes | str) -> Change:
    doc = json.loads(raw)
    seats = doc.get("c") or []
    capacity, sold, held = doc["g"]
    return Change(
        epoch=doc["e"],
        seq=int(doc["q"]),
        seats=tuple((int(i), int(s)) for i, s in seats),
        capacity=int(capacity),
        sold=int(sold),
        held=int(held),
    )


def new_epoch() -> str:
    return f"{int(time.time() * 1000):x}{os.urandom(3).hex()}"


Loader = Callable[[int], Awaitable[SessionFacts]]


class Live:
    """Seat holds, sales and the seat mirror of every session, in Redis."""

    def __init__(self, client: Client, loader: Loader, log_length: int = 1000) -> None:
        self.redis = client
        self._load_facts = loader
        self.log_length = log_length
        self.scripts = ScriptRunner(client, "server.seating.lua", "live_unavailable")
        # session -> (when, expiry) last written to its live bucket by this process
        self._live_marks: dict[int, tuple[float, int]] = {}

    async def _run(self, name: str, keys: Sequence[str], args: Iterable[Any]) -> Any:
        return await self.scripts.run(name, keys, args)

    async def _read(self, build: Callable[[Any], object]) -> list[Any]:
        """Run read-only commands in one MULTI/EXEC. A read is retried once on a connection
        error: after a Redis restart every pooled connection is stale and fails once, and
        the retry reconnects. (Scripts are not retried: some are not idempotent.)"""
        for attempt in (1, 2):
            try:
                async with self.redis.pipeline(transaction=True) as pipe:
                    build(pipe)
                    return list(await pipe.execute())
            except REDIS_DOWN as exc:
                await drop_idle_connections(self.redis)
                if attempt == 2:
                    log.warning("redis unavailable: %s", type(exc).__name__)
                    raise Unavailable(
                        "live_unavailable", "the live seat service is unavailable"
                    ) from exc
        raise AssertionError("unreachable")

    async def _run_loaded(
        self, session_id: int, name: str, keys: Sequence[str], args: list[Any]
    ) -> Any:
        """Run a script that needs the session mirror; load it from Postgres when missing."""
        for _ in range(3):
            reply = await self._run(name, keys, args)
            if reply[0] != b"not_loaded":
                return reply
            await self.ensure_loaded(session_id)
        raise Unavailable("live_unavailable", "the session could not be loaded")

    async def ensure_loaded(self, session_id: int) -> str:
        """Load the session's mirror from Postgres if Redis lacks it; returns the epoch."""
        k = Keys(session_id)
        try:
            epoch = cast(bytes | None, await self.redis.hget(k.meta, "epoch"))
        except REDIS_DOWN as exc:
            raise Unavailable("live_unavailable", "the live seat service is unavailable") from exc
        if epoch is not None:
            return str(epoch.decode())
        facts = await self._load_facts(session_id)
        pairs: list[Any] = []
        for idx in facts.blocked_seats:
            pairs += [idx, "b"]
        for idx in facts.sold_seats:
            pairs += [idx, "s"]
        reply = await self._run(
            "session_load",
            [k.meta, k.seats, k.log, k.exp],
            [
                new_epoch(),
                facts.capacity,
                facts.sold,
                facts.seat_count,
                k.channel,
                len(facts.applied),
                *facts.applied,
                *pairs,
            ],
        )
        if reply[0] == b"loaded":
            log.info("session %s mirror rebuilt from postgres, epoch %s", session_id, reply[1])
            await self.retire_after(session_id, facts.ends_at_ms)
        return str(reply[1].decode())

    async def retire_after(self, session_id: int, ends_at_ms: int) -> None:
        """Let the janitor drop the session's live keys a day after it ended."""
        if ends_at_ms:
            with contextlib.suppress(*REDIS_DOWN):
                await self.redis.zadd(
                    ended_sessions_key(session_id),
                    {str(session_id): ends_at_ms + RETAIN_AFTER_END_MS},
                )

    async def due_for_retirement(self, now_ms: int, limit: int = 100) -> list[int]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in ENDED_BUCKETS:
                pipe.zrangebyscore(key, "-inf", now_ms, start=0, num=limit)
            buckets = await pipe.execute()
        return sorted(int(cast(bytes, s)) for due in buckets for s in due)[:limit]

    async def forget(self, session_id: int) -> None:
        """Drop an ended session's mirror (it can always be rebuilt from Postgres)."""
        k = Keys(session_id)
        await self.redis.unlink(k.meta, k.seats, k.log, k.exp)
        await self.redis.zrem(live_sessions_key(session_id), str(session_id))

    async def retired(self, session_id: int) -> None:
        await self.redis.zrem(ended_sessions_key(session_id), str(session_id))

    async def invalidate(self, session_id: int) -> None:
        """Drop the session's mirror; the next use rebuilds it from Postgres (new epoch)."""
        try:
            await self.redis.delete(Keys(session_id).meta)
        except REDIS_DOWN as exc:
            raise Unavailable("live_unavailable", "the live seat service is unavailable") from exc

    async def hold(
        self,
        session_id: int,
        token: str,
        seats: Sequence[int],
        quantity: int,
        ttl_ms: int,
        cap_ms: int,
        *,
        create: bool = True,
    ) -> tuple[int, int]:
        """Hold seats and/or places, all or nothing. Returns (seq, expires_ms). With
        ``create`` false the token must name a live hold (``unknown_hold`` otherwise)."""
        k = Keys(session_id)
        tok, toks = k.token(token)
        checked = not switched_off("holds.atomic")
        if not checked:  # a control: read here, write later (the race the script prevents)
            await self._check_free_outside(k, token, seats)
        reply = await self._run_loaded(
            session_id,
            "holds_hold",
            [k.meta, k.seats, k.log, k.exp, tok, toks],
            [
                token,
                ttl_ms,
                cap_ms,
                self.log_length,
                k.channel,
                quantity,
                "1" if create else "0",
                "1" if checked else "0",
                *sorted(set(seats)),
            ],
        )
        status = reply[0].decode()
        if status == "unknown":
            raise HoldRefused("unknown_hold")
        if status == "taken":
            raise HoldRefused("seats_taken", seats=[int(i) for i in reply[1]])
        if status == "full":
            raise HoldRefused("not_enough_places", available=int(reply[1]))
        if status == "expired":
            raise HoldRefused("hold_expired")
        expires = int(reply[2])
        now = time.monotonic()
        marked_at, mark = self._live_marks.get(session_id, (0.0, 0))
        if now - marked_at >= LIVE_MARK_SLACK_MS / 1000 or expires > mark + LIVE_MARK_SLACK_MS:
            with contextlib.suppress(*REDIS_DOWN):  # the hold is made; the mark can wait
                await self.redis.zadd(live_sessions_key(session_id), {str(session_id): expires})
                self._live_marks[session_id] = (now, expires)
        return int(reply[1]), expires

    async def _check_free_outside(self, k: Keys, token: str, seats: Sequence[int]) -> None:
        """The check of ``holds_hold.lua`` made outside it, as a naive implementation would:
        only a race test's control runs this (failpoint ``holds.atomic=off``)."""
        if not seats:
            return
        values = await self.redis.hmget(k.seats, [str(i) for i in seats])
        taken = [
            i for i, v in zip(seats, values, strict=True) if v not in (None, b"h" + token.encode())
        ]
        if taken:
            raise HoldRefused("seats_taken", seats=taken)

    async def hold_best(
        self,
        session_id: int,
        token: str,
        candidates: Callable[[str], Awaitable[tuple[str, bytes, bytes]]],
        n: int,
        ttl_ms: int,
        cap_ms: int,
        *,
        create: bool = True,
    ) -> tuple[list[int], int, int]:
        """Choose ``n`` seats from ranked candidates and hold them, in one script
        (``holds_best.lua``). ``candidates(epoch)`` gives (name, windows, singles) for the
        mirror's epoch: stored here under the session's hash tag when missing. Returns
        (seats, seq, expires_ms); refuses ``not_enough_seats`` when fewer than ``n`` fit."""
        k = Keys(session_id)
        tok, toks = k.token(token)
        for _ in range(4):
            epoch = await self.ensure_loaded(session_id)
            name, windows, singles = await candidates(epoch)
            wkey, skey = f"{k.prefix}best:{name}:w", f"{k.prefix}best:{name}:s"
            start_key = f"{k.prefix}best:{name}:from"
            args = [token, ttl_ms, cap_ms, self.log_length, k.channel, "1" if create else "0"]
            reply = await self._run(
                "holds_best",
                [k.meta, k.seats, k.log, k.exp, tok, toks, wkey, skey, start_key],
                [*args, n, epoch],
            )
            status = reply[0].decode()
            if status == "nocand":
                await self._store_candidates(wkey, skey, windows, singles)
            elif status not in ("stale", "not_loaded"):
                break
        else:
            raise Unavailable("live_unavailable", "the session could not be loaded")
        if status == "none":
            raise HoldRefused("not_enough_seats")
        if status == "unknown":
            raise HoldRefused("unknown_hold")
        if status == "expired":
            raise HoldRefused("hold_expired")
        seats = [int(i) for i in reply[3]]
        return seats, int(reply[1]), int(reply[2])

    async def _store_candidates(self, wkey: str, skey: str, windows: bytes, singles: bytes) -> None:
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.set(wkey, windows, ex=CANDIDATES_TTL_S)
                pipe.set(skey, singles, ex=CANDIDATES_TTL_S)
                await pipe.execute()
        except REDIS_DOWN as exc:
            raise Unavailable("live_unavailable", "the live seat service is unavailable") from exc

    async def release(
        self, session_id: int, token: str, seats: Sequence[int] | None, quantity: int = 0
    ) -> int:
        """Release the given seats/places of a hold, or all of it when ``seats`` is None."""
        k = Keys(session_id)
        tok, toks = k.token(token)
        release_all = seats is None
        reply = await self._run_loaded(
            session_id,
            "holds_release",
            [k.meta, k.seats, k.log, k.exp, tok, toks],
            [
                token,
                self.log_length,
                k.channel,
                "1" if release_all else "0",
                quantity,
                *sorted(set(seats or ())),
            ],
        )
        if reply[0] == b"unknown_token":
            raise HoldRefused("unknown_hold")
        return int(reply[1])

    async def extend(self, session_id: int, token: str, ttl_ms: int) -> tuple[int, int]:
        k = Keys(session_id)
        tok, _ = k.token(token)
        reply = await self._run("holds_extend", [k.exp, tok], [token, ttl_ms])
        status = reply[0].decode()
        if status == "unknown_token":
            raise HoldRefused("unknown_hold")
        if status == "expired":
            raise HoldRefused("hold_expired")
        return int(reply[1]), int(reply[2])

    async def claim(
        self,
        session_id: int,
        token: str,
        seats: Sequence[int],
        quantity: int,
        owner: str,
        grace_ms: int = CLAIM_GRACE_MS,
    ) -> None:
        """Check the hold covers what is being bought and keep it alive while committing
        (``grace_ms``, longer while an order waits for its payment, docs/payments.md);
        ``owner`` (the order's idempotency key) has the hold to itself until it is sold or
        :meth:`unclaim` ends the claim."""
        k = Keys(session_id)
        tok, _ = k.token(token)
        reply = await self._run(
            "holds_claim",
            [k.seats, k.exp, tok, k.meta],
            [token, grace_ms, quantity, owner, *seats],
        )
        status = reply[0].decode()
        if status == "ok":
            return
        if status == "busy":
            raise HoldRefused("hold_busy")
        if status == "not_held":
            raise HoldRefused("seats_not_held", seats=[int(i) for i in reply[1]])
        if status == "not_held_places":
            raise HoldRefused("places_not_held", available=int(reply[1]))
        raise HoldRefused("unknown_hold" if status == "unknown_token" else "hold_expired")

    async def unclaim(self, session_id: int, token: str, owner: str) -> None:
        tok, _ = Keys(session_id).token(token)
        await self._run("holds_unclaim", [tok], [owner])

    async def sell(
        self,
        session_id: int,
        token: str,
        seats: Sequence[int],
        quantity: int,
        outbox_id: int = 0,
    ) -> int:
        """Mark seats and places sold (they leave the hold), once per outbox entry."""
        k = Keys(session_id)
        tok, toks = k.token(token)
        reply = await self._run_loaded(
            session_id,
            "holds_sell",
            [k.meta, k.seats, k.log, k.exp, tok, toks],
            [token, self.log_length, k.channel, quantity, outbox_id, *seats],
        )
        return int(reply[1])

    async def block(
        self, session_id: int, seats: Sequence[int], blocked: bool, outbox_id: int = 0
    ) -> int:
        k = Keys(session_id)
        reply = await self._run_loaded(
            session_id,
            "seats_block",
            [k.meta, k.seats, k.log],
            [self.log_length, k.channel, "1" if blocked else "0", outbox_id, *sorted(set(seats))],
        )
        if reply[0] == b"taken":
            raise HoldRefused("seats_taken", seats=[int(i) for i in reply[1]])
        return int(reply[1])

    async def set_capacity(self, session_id: int, capacity: int, outbox_id: int) -> None:
        """A general-admission session's new capacity: the gauge follows, holds stay."""
        k = Keys(session_id)
        await self._run(
            "session_capacity", [k.meta, k.log], [self.log_length, k.channel, capacity, outbox_id]
        )

    async def unsell(
        self,
        session_id: int,
        seats: Sequence[int],
        places: int,
        outbox_id: int = 0,
        blocked: Sequence[int] = (),
    ) -> None:
        """Free refunded seats/places in the seat mirror and push the change live; the
        ``blocked`` ones among ``seats`` (sold by overbooking, still blocked in Postgres)
        become blocked again.

        A session whose mirror is not loaded needs nothing: it is rebuilt from Postgres,
        which already says the ticket is refunded.
        """
        k = Keys(session_id)
        again = sorted(set(blocked) & set(seats))
        rest = sorted(set(seats) - set(again))
        await self._run(
            "seats_unsell",
            [k.meta, k.seats, k.log],
            [self.log_length, k.channel, places, outbox_id, len(again), *again, *rest],
        )

    async def expire_due(self, session_id: int, limit: int = 500) -> int:
        """Release the session's expired holds; returns how many tokens expired."""
        k = Keys(session_id)
        reply = await self._run(
            "holds_expire",
            [k.meta, k.seats, k.log, k.exp],
            [self.log_length, k.channel, k.prefix, limit],
        )
        return int(reply[0])

    async def hold_info(self, session_id: int, token: str) -> HoldInfo:
        k = Keys(session_id)
        tok, toks = k.token(token)
        (expires, cap, ga), members = await self._read(
            lambda pipe: (pipe.hmget(tok, "exp", "cap", "ga"), pipe.smembers(toks))
        )
        if expires is None or int(expires) <= int(time.time() * 1000):
            raise HoldRefused("unknown_hold")
        return HoldInfo(
            token, sorted(int(m) for m in members), int(ga or 0), int(expires), int(cap)
        )

    async def snapshot(self, session_id: int) -> Snapshot:
        k = Keys(session_id)
        for _ in range(3):
            meta, seats = await self._read(
                lambda pipe: (
                    pipe.hmget(k.meta, "epoch", "seq", "n", "cap", "sold", "held"),
                    pipe.hgetall(k.seats),
                )
            )
            if meta[0] is None:
                await self.ensure_loaded(session_id)
                continue
            states = {int(i): state_of_redis_value(v.decode()) for i, v in seats.items()}
            epoch, seq, n, cap, sold, held = meta
            return Snapshot(
                epoch.decode(), int(seq), int(n), int(cap), int(sold), int(held), states
            )
        raise Unavailable("live_unavailable", "the session could not be loaded")

    async def position(self, session_id: int) -> tuple[str, int]:
        """The session's current epoch and seq (``("", 0)`` when not loaded)."""
        k = Keys(session_id)
        ((epoch, seq),) = await self._read(lambda pipe: pipe.hmget(k.meta, "epoch", "seq"))
        return ("", 0) if epoch is None else (epoch.decode(), int(seq))

    async def changes_since(self, session_id: int, since: int) -> tuple[str, int, list[Change]]:
        """The session's current epoch and seq and the logged changes after ``since``
        (newest first; fewer than asked when the capped log no longer reaches back)."""
        k = Keys(session_id)
        epoch, seq, entries = await self._run("session_log", [k.meta, k.log], [max(since, 0)])
        if not epoch:
            return "", 0, []
        return epoch.decode(), int(seq), [parse_change(e) for e in entries]

    async def live_sessions(self, forget_before_ms: int) -> list[int]:
        """Sessions that may have holds. A session is forgotten once no hold made in it can
        still be alive (its last hold's expiry plus the absolute cap is past).

        Sessions this process marked itself are included even if Redis lost the mark (a
        flush just after a throttled mark), so their holds still expire."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in (*LIVE_BUCKETS, LEGACY_LIVE_SESSIONS):
                pipe.zremrangebyscore(key, "-inf", forget_before_ms)
                pipe.zrange(key, 0, -1)
            replies = await pipe.execute()
        members = [m for bucket in replies[1::2] for m in bucket]
        for session_id, (_, expiry) in list(self._live_marks.items()):
            if expiry < forget_before_ms:
                del self._live_marks[session_id]
        return sorted({int(m) for m in members} | self._live_marks.keys())

"""The one place a Redis client is made: a standalone server or a Redis Cluster, by URL.

``REDIS_URL`` names either a standalone server (``redis://host:port/db``, ``rediss://`` for
TLS, ``unix://``) or a cluster: ``redis+cluster://[user:password@]host:port,host:port,...``
(``rediss+cluster://`` for TLS), any of its nodes being enough to discover the others. A
cluster gets redis-py's cluster client, which routes every command by its keys' slot; the
code above it is the same for both (every key of a script or transaction shares a hash tag,
docs/scaling.md). Pub/sub is sharded in both modes (``SPUBLISH``/``SSUBSCRIBE``); the relay
(server/realtime/relay.py) holds one subscription connection per cluster master.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
import redis.asyncio as aredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.cluster import ClusterNode as SyncClusterNode
from redis.cluster import RedisCluster as SyncRedisCluster

CLUSTER_SCHEMES = {"redis+cluster": False, "rediss+cluster": True}  # scheme -> TLS

Client = aredis.Redis | RedisCluster
"""An asyncio client: a standalone server's or a cluster's (same commands, keyed by slot)."""
SyncClient = redis.Redis | SyncRedisCluster


@dataclass(frozen=True, slots=True)
class ClusterUrl:
    nodes: tuple[tuple[str, int], ...]
    username: str | None
    password: str | None
    tls: bool

    def options(self) -> dict[str, Any]:
        found = {"username": self.username, "password": self.password}
        options: dict[str, Any] = {k: v for k, v in found.items() if v is not None}
        if self.tls:
            options["ssl"] = True
        return options


def is_cluster_url(url: str) -> bool:
    return urlsplit(url).scheme in CLUSTER_SCHEMES


def parse_cluster_url(url: str) -> ClusterUrl:
    """``redis+cluster://[user:password@]host:port[,host:port...][/]``: its seed nodes."""
    parts = urlsplit(url)
    if parts.scheme not in CLUSTER_SCHEMES:
        raise ValueError(f"not a Redis Cluster URL: {parts.scheme}://…")
    if parts.path not in ("", "/", "/0"):
        raise ValueError("a Redis Cluster has only database 0")
    credentials, _, hosts = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":") if credentials else ("", "", "")
    nodes = []
    for item in hosts.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"a cluster node must be host:port, not {item!r}")
        nodes.append((host.strip("[]"), int(port)))
    return ClusterUrl(
        tuple(nodes),
        unquote(username) or None,
        unquote(password) or None,
        CLUSTER_SCHEMES[parts.scheme],
    )


def connect(url: str, **options: Any) -> Client:
    """An asyncio client for ``url``: ``options`` are connection settings (timeouts,
    ``max_connections``: per node for a cluster)."""
    if not is_cluster_url(url):
        return aredis.Redis.from_url(url, **options)
    target = parse_cluster_url(url)
    options.pop("health_check_interval", None)  # the cluster client checks on its own
    client = FailoverSafeCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
        **target.options(),
        **options,
    )
    callbacks = client.response_callbacks
    for name, callback in list(callbacks.items()):
        callbacks[name] = _without_keys(callback)
    return client


class FailoverSafeCluster(RedisCluster):
    """redis-py's asyncio cluster client, with one of its failover races reported as what
    it is. When a node fails, the client closes every connection to it, including those
    other tasks are using; such a task then writes to a stream that is gone and meets
    ``AttributeError`` (``'NoneType' object has no attribute 'writelines'``; redis-py
    issue #3546 is a cousin) or, under uvloop, ``RuntimeError`` ("the handler is closed")
    instead of a ``ConnectionError``. A buyer would get a 500 where the answer is "the
    live service is unavailable, retry" (503). Only such an error raised while redis-py
    was writing a command is translated: the command was not sent."""

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().execute_command(*args, **kwargs)
        except (AttributeError, TypeError, RuntimeError) as exc:
            if not _raised_while_writing(exc.__traceback__):
                raise
            raise redis.ConnectionError(f"connection closed during a failover: {exc}") from exc


def _raised_while_writing(tb: types.TracebackType | None) -> bool:
    """Whether the innermost redis-py frame of ``tb`` is the one writing to the socket."""
    writing = False
    while tb is not None:
        code = tb.tb_frame.f_code
        if PurePath(code.co_filename).parts[-3:] == ("redis", "asyncio", "connection.py"):
            writing = code.co_name == "_send_packed_command"
        tb = tb.tb_next
    return writing


def _without_keys(callback: Callable[..., Any]) -> Callable[..., Any]:
    """redis-py 8.1's asyncio cluster client hands the ``keys`` routing option to the reply
    callbacks of a transaction (MULTI/EXEC) pipeline, which most do not take (``SMEMBERS``
    fails); its other paths drop it first. Drop it here too."""

    def call(response: Any, **options: Any) -> Any:
        options.pop("keys", None)
        return callback(response, **options)

    return call


def connect_sync(url: str, **options: Any) -> SyncClient:
    """The same for blocking code (the CLI, load generators, tests)."""
    if not is_cluster_url(url):
        return redis.Redis.from_url(url, **options)
    target = parse_cluster_url(url)
    return SyncRedisCluster(
        startup_nodes=[
            SyncClusterNode(host, port)  # type: ignore[no-untyped-call]
            for host, port in target.nodes
        ],
        **target.options(),
        **options,
    )


def node_client(cluster: RedisCluster, node: ClusterNode) -> aredis.Redis:
    """A standalone client to one node of ``cluster`` (for its sharded subscriptions),
    with the cluster client's credentials and timeouts."""
    wanted = ("username", "password", "socket_timeout", "socket_connect_timeout")
    kwargs = {k: cluster.connection_kwargs[k] for k in wanted if k in cluster.connection_kwargs}
    connection_class = cluster.connection_kwargs.get("connection_class")
    if connection_class is not None and connection_class.__name__ == "SSLConnection":
        kwargs["ssl"] = True
    return aredis.Redis(host=node.host, port=int(node.port), **kwargs)


def is_cluster(client: object) -> bool:
    return isinstance(client, (RedisCluster, SyncRedisCluster))

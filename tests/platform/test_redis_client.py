"""REDIS_URL names a standalone Redis or a cluster; a cluster URL that cannot work is refused
at start-up with a message saying why."""

from __future__ import annotations

import pytest
import redis.asyncio as aredis

from server.platform.redis_client import _raised_while_writing, is_cluster_url, parse_cluster_url


def test_a_cluster_url_lists_its_seed_nodes_and_credentials() -> None:
    url = "rediss+cluster://app:s%40cret@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002/"
    assert is_cluster_url(url) and not is_cluster_url("redis://10.0.0.1:6379/0")
    target = parse_cluster_url(url)
    assert target.nodes == (("10.0.0.1", 7000), ("10.0.0.2", 7001), ("::1", 7002))
    assert (target.username, target.password, target.tls) == ("app", "s@cret", True)
    assert target.options() == {"username": "app", "password": "s@cret", "ssl": True}
    plain = parse_cluster_url("redis+cluster://127.0.0.1:7000")
    assert plain.nodes == (("127.0.0.1", 7000),) and plain.options() == {}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis+cluster://127.0.0.1:7000/1", "database 0"),
        ("redis+cluster://127.0.0.1", "host:port"),
        ("redis+cluster://127.0.0.1:7000,:7001", "host:port"),
        ("redis://127.0.0.1:6379", "not a Redis Cluster URL"),
    ],
)
def test_a_cluster_url_that_cannot_work_is_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_cluster_url(url)


async def test_a_write_to_a_connection_closed_under_it_is_a_connection_error() -> None:
    """The failover race (server/platform/redis_client.py): a connection another task
    closed meets its command with an AttributeError, which means "Redis unavailable";
    any other AttributeError stays what it is."""
    connection = aredis.Connection()  # never connected: its stream is None, as once closed
    with pytest.raises(AttributeError) as closed:
        await connection._send_packed_command([b"PING\r\n"])
    assert _raised_while_writing(closed.tb)
    with pytest.raises(AttributeError) as elsewhere:
        await connection.no_such_method()  # type: ignore[attr-defined]
    assert not _raised_while_writing(elsewhere.tb)

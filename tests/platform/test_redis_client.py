"""REDIS_URL names a standalone Redis or a cluster; a cluster URL that cannot work is refused
at start-up with a message saying why."""

from __future__ import annotations

import pytest

from server.platform.redis_client import is_cluster_url, parse_cluster_url


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

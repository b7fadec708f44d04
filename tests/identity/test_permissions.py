"""Roles are presets over permissions; who may grant a role is a rule; ``docs/roles.md`` is
generated from the code and kept fresh."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from server.app import roles_document
from server.identity.auth import ANONYMOUS, Principal, check_password, require
from server.identity.permissions import (
    ALL_PERMISSIONS,
    MEANING,
    PRESETS,
    ROLE_MEANING,
    Permission,
    grantable,
    permissions_of,
)
from server.identity.roles import Role
from server.identity.users import create_user
from server.platform.errors import Forbidden, Unauthenticated
from tests import support
from tests.support import ROOT


def test_the_roles_doc_is_generated_from_the_code() -> None:
    assert (ROOT / "docs" / "roles.md").read_text() == roles_document(), (
        "run: python -m server.cli roles-doc > docs/roles.md"
    )


def test_every_role_has_a_preset_and_every_permission_a_meaning() -> None:
    assert set(PRESETS) == set(ROLE_MEANING) == set(Role)
    assert set(MEANING) == ALL_PERMISSIONS
    assert all(PRESETS[role] for role in Role)


def test_a_users_permissions_are_the_union_of_its_roles_presets() -> None:
    assert permissions_of(frozenset({"pos", "refund"})) == {
        Permission.SELL,
        Permission.RESERVE,
        Permission.REFUND_OWN_REGISTER,
    }
    assert permissions_of(frozenset({"admin"})) == ALL_PERMISSIONS
    assert permissions_of(frozenset({"no-such-role"})) == frozenset()
    cashier = Principal(7, "cashier", frozenset({"pos"}))
    assert cashier.can(Permission.SELL) and not cashier.can(Permission.REFUND_ANY)
    assert cashier.can(Permission.REFUND_ANY, Permission.RESERVE)  # any one suffices
    assert Principal(1, "boss", frozenset({"admin"})).can(*Permission)
    assert not ANONYMOUS.can(*Permission)


def test_require_refuses_the_anonymous_with_401_and_others_with_403() -> None:
    with pytest.raises(Unauthenticated) as anonymous:
        require(ANONYMOUS, Permission.DOOR_SCAN)
    assert anonymous.value.code == "authentication_required"
    with pytest.raises(Forbidden) as signed_in:
        require(Principal(7, "cashier", frozenset({"pos"})), Permission.DOOR_SCAN)
    assert signed_in.value.code == "forbidden"
    assert signed_in.value.details == {"needs": ["door.scan"]}


def test_an_admin_grants_any_role() -> None:
    admin = permissions_of(frozenset({"admin"}))
    assert grantable(admin, [r.value for r in Role])
    assert grantable({Permission.ADMIN}, ["admin"])


def test_others_grant_only_roles_within_their_own_permissions() -> None:
    pos = permissions_of(frozenset({"pos"}))
    assert grantable(pos, ["pos", "on-site", "partner"])  # sell, reserve: all held
    assert not grantable(pos, ["overbooker"])  # sell.overbook: not held
    assert not grantable(pos, ["pos", "refund"])
    assert not grantable(pos, ["admin"])
    assert grantable(pos, [])
    every_other = frozenset(ALL_PERMISSIONS - {Permission.ADMIN})
    assert not grantable(every_other, ["admin"])  # nobody but an admin makes an admin
    assert grantable(every_other, [r.value for r in Role if r is not Role.ADMIN])
    assert not grantable(frozenset(), ["stats"])


@pytest.fixture
async def pool(services: None) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(support.testing_database_url(), min_size=1, max_size=2)
    yield pool
    await pool.close()


async def test_a_granter_may_not_take_over_a_user_who_holds_more(pool: asyncpg.Pool) -> None:
    name = f"boss-{uuid.uuid4().hex[:8]}"
    await create_user(pool, name, "first-password", ["admin"])
    cashier = permissions_of(frozenset({"pos"}))
    with pytest.raises(Forbidden) as refused:
        await create_user(pool, name, "taken-over", ["pos"], granter=cashier)
    assert refused.value.code == "cannot_grant" and refused.value.details == {"roles": ["admin"]}
    with pytest.raises(Forbidden) as beyond:
        await create_user(pool, f"new-{name}", "a-password", ["pos", "stats"], granter=cashier)
    assert beyond.value.details == {"roles": ["stats"]}
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT password_hash, roles FROM users WHERE username = $1", name
        )
        assert not await conn.fetchval("SELECT true FROM users WHERE username = $1", f"new-{name}")
    assert list(row["roles"]) == ["admin"] and check_password(
        row["password_hash"], "first-password"
    )
    created = await create_user(pool, f"desk-{name}", "a-password", ["on-site"], granter=cashier)
    assert created > 0

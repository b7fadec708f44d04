"""The back office's staff: create with display name and points of sale, list and search,
change roles under the granting rule, never one's own; points of sale."""

from __future__ import annotations

import uuid

from tests.support import STAFF_PASSWORD, Api, ServerProcess


async def create(admin: Api, **extra: object) -> dict[str, object]:
    body = {"username": f"u-{uuid.uuid4().hex[:10]}", "password": STAFF_PASSWORD, **extra}
    r = await admin.http.post("/api/users", json=body)
    assert r.status_code == 201, r.text
    user: dict[str, object] = r.json()
    return user


async def test_a_user_has_a_display_name_points_of_sale_and_a_language(admin: Api) -> None:
    desk = await admin.http.post(
        "/api/points-of-sale", json={"name": f"Desk {uuid.uuid4().hex[:6]}", "kind": "desk"}
    )
    assert desk.status_code == 201
    points = (await admin.http.get("/api/points-of-sale")).json()["items"]
    eshop = next(p for p in points if p["name"] == "Eshop")
    user = await create(
        admin,
        display_name="Camille Dubois",
        roles=["pos"],
        points_of_sale=[desk.json()["id"], eshop["id"]],
        language="en",
    )
    assert user["display_name"] == "Camille Dubois" and user["language"] == "en"
    assert {p["name"] for p in user["points_of_sale"]} == {desk.json()["name"], "Eshop"}  # type: ignore[attr-defined]
    found = (await admin.http.get("/api/users", params={"q": "camille dub"})).json()
    assert [u["id"] for u in found["items"]] == [user["id"]] and found["total"] == 1
    unknown = await admin.http.post(
        "/api/users",
        json={
            "username": "x-" + uuid.uuid4().hex[:8],
            "password": STAFF_PASSWORD,
            "points_of_sale": [987654],
        },
    )
    assert unknown.json()["error"]["code"] == "unknown_point_of_sale"
    taken = await admin.http.post("/api/points-of-sale", json={"name": "Eshop"})
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "name_taken")


async def test_roles_change_under_the_granting_rule_and_end_the_users_tokens(
    server: ServerProcess, admin: Api
) -> None:
    user = await create(admin, roles=["stats"])
    token = (
        await admin.http.post(
            "/api/auth/login", json={"username": user["username"], "password": STAFF_PASSWORD}
        )
    ).json()["token"]
    r = await admin.http.patch(f"/api/users/{user['id']}", json={"roles": ["pos", "refund"]})
    assert r.status_code == 200 and r.json()["roles"] == ["pos", "refund"]
    old = Api(server.url, token)
    try:
        assert (await old.http.get("/api/auth/me")).status_code == 401  # signs in again
    finally:
        await old.close()
    admin_id = (await admin.http.get("/api/auth/me")).json()["id"]
    mine = await admin.http.patch(f"/api/users/{admin_id}", json={"roles": ["stats"]})
    assert (mine.status_code, mine.json()["error"]["code"]) == (403, "not_yourself")
    off = await admin.http.post(f"/api/users/{admin_id}/disable")
    assert (off.status_code, off.json()["error"]["code"]) == (403, "not_yourself")


async def test_a_password_reset_gives_a_new_password_and_ends_the_old_tokens(
    server: ServerProcess, admin: Api
) -> None:
    user = await create(admin, roles=["stats"])
    weak = await admin.http.post(f"/api/users/{user['id']}/password", json={"password": "short"})
    assert weak.json()["error"]["code"] == "weak_password"
    r = await admin.http.post(
        f"/api/users/{user['id']}/password", json={"password": "brand-new-password"}
    )
    assert r.status_code == 200
    old = await admin.http.post(
        "/api/auth/login", json={"username": user["username"], "password": STAFF_PASSWORD}
    )
    new = await admin.http.post(
        "/api/auth/login", json={"username": user["username"], "password": "brand-new-password"}
    )
    assert (old.status_code, new.status_code) == (401, 200)

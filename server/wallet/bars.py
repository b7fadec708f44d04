"""The bars a bar page can work at: the registers of bar points of sale, each with the
articles it sells (``GET /api/bars``)."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from server.platform.db import connection

_BARS = """
SELECT r.id AS register_id, r.name, r.point_of_sale_id, p.name AS point_of_sale, r.currency,
    coalesce((SELECT json_agg(json_build_object('id', a.id, 'name', a.name, 'family', f.name,
        'price_cents', a.price_cents, 'tax_rate_bp', a.tax_rate_bp, 'stock', a.stock)
        ORDER BY f.name, a.name)
      FROM articles a JOIN article_families f ON f.id = a.family_id
      WHERE a.active AND a.currency = r.currency
        AND (a.point_of_sale_id IS NULL OR a.point_of_sale_id = r.point_of_sale_id)),
      '[]') AS articles
FROM registers r JOIN points_of_sale p ON p.id = r.point_of_sale_id
WHERE p.kind = 'bar' ORDER BY p.name, r.name
"""
"""Every bar register with its active articles in its currency (those of every point of
sale and its own), by family and name."""


async def bars(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    """The bar registers, each with its articles."""
    async with connection(pool) as conn:
        rows = await conn.fetch(_BARS)
    return [{**dict(r), "articles": json.loads(r["articles"])} for r in rows]

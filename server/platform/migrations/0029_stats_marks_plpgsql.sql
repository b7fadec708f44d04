-- Guichet schema, version 29: the statistics' dirty marks (0026) written by PL/pgSQL
-- functions instead of SQL ones. A SQL function called from a trigger is planned again at
-- every call; PL/pgSQL keeps its plans per connection. The marks are the same; a desk sale
-- (several statements, each marking) no longer pays a planning per statement.

CREATE OR REPLACE FUNCTION stats_mark_tickets(ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_dirty (kind, key)
    SELECT 'b', b FROM (SELECT DISTINCT id / 1024 AS b FROM unnest(ids) id) x
    UNION
    SELECT 'q', stats_quarter(o.created_at)
      FROM unnest(ids) i (id) JOIN tickets t ON t.id = i.id JOIN orders o ON o.id = t.order_id
    UNION
    SELECT 'q', stats_quarter(v.revoked_at)
      FROM unnest(ids) i (id) JOIN revocations v ON v.ticket_id = i.id;
END $$;

CREATE OR REPLACE FUNCTION stats_mark_orders(ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stats_mark_tickets(ARRAY(
        SELECT t.id FROM unnest(ids) i (id) JOIN tickets t ON t.order_id = i.id));
    INSERT INTO stats_dirty (kind, key)
    SELECT DISTINCT 'q', stats_quarter(o.created_at)
      FROM unnest(ids) i (id) JOIN orders o ON o.id = i.id;
END $$;

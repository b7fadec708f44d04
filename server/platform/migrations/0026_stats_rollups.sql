-- Statistics from rollups (docs/accounting.md, "How the statistics stay fast"): the figures
-- of the tickets, a block of 1,024 ticket ids at a time (per session and tariff), and the
-- sales statement's lines per quarter of an hour (per channel and currency), each recomputed
-- by the very queries that read the base tables, only for the blocks and quarters that
-- changed. Triggers on every table the figures read append the keys that changed to
-- stats_dirty (no unique key: writers never wait on one another); the statistics' reader
-- drains it, under an advisory lock, and recomputes those keys before it reads.

CREATE TABLE stats_dirty (
    kind char(1) NOT NULL CHECK (kind IN ('b', 'q')),  -- b: ticket block, q: quarter hour
    key  bigint NOT NULL                               -- id / 1024, or epoch / 900
);

CREATE TABLE stats_ticket_blocks (
    block         bigint NOT NULL,
    session_id    bigint NOT NULL,
    tariff_id     bigint NOT NULL,
    sold          bigint NOT NULL,
    entered       bigint NOT NULL,
    unentered     bigint NOT NULL,
    revenue_cents bigint NOT NULL,
    PRIMARY KEY (block, session_id, tariff_id)
);
CREATE INDEX stats_ticket_blocks_session ON stats_ticket_blocks (session_id, tariff_id);

CREATE TABLE stats_sales_quarters (
    quarter     bigint NOT NULL,  -- floor(epoch of paid_at / 900)
    channel     text NOT NULL,
    currency    text NOT NULL,
    lines       bigint NOT NULL,
    tickets     bigint NOT NULL,
    gross_cents bigint NOT NULL,
    PRIMARY KEY (quarter, channel, currency)
);

CREATE FUNCTION stats_quarter(at timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT floor(extract(epoch FROM at) / 900)::bigint $$;

-- The tickets' blocks, and the quarters of their e-shop lines (the order's time, each
-- refund's time).
CREATE FUNCTION stats_mark_tickets(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO stats_dirty (kind, key)
    SELECT 'b', b FROM (SELECT DISTINCT id / 1024 AS b FROM unnest(ids) id) x
    UNION
    SELECT 'q', stats_quarter(o.created_at)
      FROM unnest(ids) i (id) JOIN tickets t ON t.id = i.id JOIN orders o ON o.id = t.order_id
    UNION
    SELECT 'q', stats_quarter(v.revoked_at)
      FROM unnest(ids) i (id) JOIN revocations v ON v.ticket_id = i.id;
$$;

CREATE FUNCTION stats_mark_orders(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    SELECT stats_mark_tickets(ARRAY(
        SELECT t.id FROM unnest(ids) i (id) JOIN tickets t ON t.order_id = i.id));
    INSERT INTO stats_dirty (kind, key)
    SELECT DISTINCT 'q', stats_quarter(o.created_at)
      FROM unnest(ids) i (id) JOIN orders o ON o.id = i.id;
$$;

CREATE FUNCTION stats_tickets_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stats_mark_tickets(ARRAY(SELECT id FROM changed));
    IF TG_OP = 'UPDATE' THEN  -- an order changed: its time's quarter too
        INSERT INTO stats_dirty (kind, key)
        SELECT DISTINCT 'q', stats_quarter(o.created_at)
          FROM before b JOIN orders o ON o.id = b.order_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER tickets_stats_insert AFTER INSERT ON tickets
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION stats_tickets_changed();
CREATE TRIGGER tickets_stats_update AFTER UPDATE ON tickets
REFERENCING OLD TABLE AS before NEW TABLE AS changed
FOR EACH STATEMENT EXECUTE FUNCTION stats_tickets_changed();

-- An order's kind, channel, currency or time: its tickets' figures and lines.
CREATE FUNCTION stats_order_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stats_mark_orders(ARRAY[NEW.id]);
    INSERT INTO stats_dirty (kind, key) VALUES ('q', stats_quarter(OLD.created_at));
    RETURN NULL;
END $$;

CREATE TRIGGER orders_stats_update AFTER UPDATE ON orders FOR EACH ROW
WHEN (OLD.kind IS DISTINCT FROM NEW.kind OR OLD.channel IS DISTINCT FROM NEW.channel
      OR OLD.currency IS DISTINCT FROM NEW.currency
      OR OLD.created_at IS DISTINCT FROM NEW.created_at)
EXECUTE FUNCTION stats_order_changed();

-- A journal entry for an order: the order's tickets leave the e-shop's figures.
CREATE FUNCTION stats_journal_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM stats_mark_orders(ARRAY(SELECT DISTINCT order_id FROM added
                                     WHERE order_id IS NOT NULL));
    RETURN NULL;
END $$;

CREATE TRIGGER journal_stats_insert AFTER INSERT ON journal
REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION stats_journal_added();

-- A journal line: its entry's quarter, and its ticket's figures.
CREATE FUNCTION stats_journal_lines_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_dirty (kind, key)
    SELECT DISTINCT 'q', stats_quarter(j.created_at)
      FROM added l JOIN journal j ON j.id = l.journal_id
    UNION
    SELECT DISTINCT 'b', l.ticket_id / 1024 FROM added l WHERE l.ticket_id IS NOT NULL;
    RETURN NULL;
END $$;

CREATE TRIGGER journal_lines_stats_insert AFTER INSERT ON journal_lines
REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION stats_journal_lines_added();

-- A revocation (a refund among them): its ticket, and the refund line's quarter.
CREATE FUNCTION stats_revocations_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_dirty (kind, key)
    SELECT DISTINCT 'b', ticket_id / 1024 FROM changed
    UNION
    SELECT DISTINCT 'q', stats_quarter(revoked_at) FROM changed;
    RETURN NULL;
END $$;

CREATE TRIGGER revocations_stats_insert AFTER INSERT ON revocations
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT
EXECUTE FUNCTION stats_revocations_changed();
CREATE TRIGGER revocations_stats_update AFTER UPDATE ON revocations
REFERENCING OLD TABLE AS before NEW TABLE AS changed FOR EACH STATEMENT
EXECUTE FUNCTION stats_revocations_changed();
CREATE TRIGGER revocations_stats_delete AFTER DELETE ON revocations
REFERENCING OLD TABLE AS changed FOR EACH STATEMENT
EXECUTE FUNCTION stats_revocations_changed();

-- An entry made or undone: its ticket's figures.
CREATE FUNCTION stats_entries_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_dirty (kind, key) SELECT DISTINCT 'b', ticket_id / 1024 FROM changed;
    RETURN NULL;
END $$;

CREATE TRIGGER entries_stats_insert AFTER INSERT ON entries
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION stats_entries_changed();
CREATE TRIGGER entries_stats_delete AFTER DELETE ON entries
REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION stats_entries_changed();

-- What exists already: every block and quarter is out of date.
INSERT INTO stats_dirty (kind, key)
SELECT DISTINCT 'b', id / 1024 FROM tickets
UNION
SELECT 'q', q FROM (
    SELECT stats_quarter(created_at) AS q FROM journal
    UNION SELECT stats_quarter(created_at) FROM orders
    UNION SELECT stats_quarter(revoked_at) FROM revocations) x;

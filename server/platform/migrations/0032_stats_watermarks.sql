-- Guichet schema, version 32: the statistics' rollups (0026) find new rows themselves.
--
-- Until now, statement-level triggers on the inserts into tickets, journal and
-- journal_lines wrote dirty marks in the writer's transaction: three per desk sale, about a
-- third of its throughput (docs/benchmarks.md). They are dropped. The refresh
-- (server/accounting/rollups.py) now scans the rows of those tables, and of order_products
-- (a cart's passes and articles, which no trigger marked), above a watermark of their ids,
-- and marks what they change as the triggers did. Triggers stay where a row changes after
-- its insert: a ticket's update, an order's, a revocation (keyed by ticket and seed, no id
-- to scan by; written later than its ticket), an entry made or undone.
--
-- Why no row is ever skipped. Ids come from a sequence in the order nextval hands them
-- out, not in commit order: a transaction holding id 100 may commit after one holding 101
-- was seen, so "id > the highest id seen" would skip 100 for good. Nor can the snapshot's
-- xmin bound it: a transaction gets its xid at its first write, which may come after its
-- nextval. So each table's watermark has two parts:
--   done       every row with id <= done that will ever commit has been scanned;
--   candidate  the sequence's last value, read at some refresh, and waiting, the virtual
--              transaction ids (pg_locks, locktype virtualxid) running just after that
--              read. Every id <= candidate was handed out before the read, to a
--              transaction that had started by then: it had ended, or it is in waiting.
-- A refresh (under its advisory lock) first asks whether any of waiting is still running
-- (a transaction holds its own virtualxid lock from its start until after its commit is
-- visible, with or without an xid). If none is, every transaction that holds an id <=
-- candidate has ended, and the scan, in a later statement (so a later snapshot), sees every
-- committed row <= candidate. The scan reads every row with id > done; only after it does
-- done become candidate, and a new candidate and waiting are read (sequence first, then the
-- locks). While some of waiting still runs, done stays, and each refresh scans again from
-- it. This needs sequences that hand out one value at a time (CACHE 1, the default; checked
-- by stats_id_sequence): a session's cache could hold ids <= candidate for a transaction
-- not yet begun.
-- Why nothing is counted twice. A scan does not add: it marks a row's ticket block and
-- quarters, which the refresh recomputes from the base tables. A row scanned again (it
-- stays above done until its candidate is settled) only has its keys recomputed again.
--
-- journal and journal_lines: an entry's lines are inserted with the entry (one statement,
-- server/cash/journal.py) and never changed (journal_lines_no_change), so the journal's
-- watermark covers them. Nothing here uses ctid or row triggers on journal: it may be a
-- partitioned table (0031).

-- No insert into these tables is in flight while the triggers go and the watermarks are
-- read: every row <= the sequences' values is committed (and was marked) or rolled back.
LOCK TABLE tickets, journal, journal_lines, order_products IN SHARE ROW EXCLUSIVE MODE;

DROP TRIGGER IF EXISTS tickets_stats_insert ON tickets;
DROP TRIGGER IF EXISTS journal_stats_insert ON journal;
DROP TRIGGER IF EXISTS journal_lines_stats_insert ON journal_lines;
DROP FUNCTION IF EXISTS stats_journal_added();
DROP FUNCTION IF EXISTS stats_journal_lines_added();

-- The sequence of a table's id column (serial, identity, or a plain nextval default),
-- refusing one that caches values per session.
CREATE FUNCTION stats_id_sequence(tbl regclass) RETURNS regclass
LANGUAGE plpgsql STABLE AS $$
DECLARE
    seq regclass := pg_get_serial_sequence(tbl::text, 'id')::regclass;
    cache bigint;
BEGIN
    IF seq IS NULL THEN
        SELECT (regexp_match(pg_get_expr(d.adbin, d.adrelid),
                             'nextval\(''([^'']+)''::regclass\)'))[1]::regclass
          INTO seq
          FROM pg_attrdef d
          JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
         WHERE d.adrelid = tbl AND a.attname = 'id';
    END IF;
    SELECT seqcache INTO cache FROM pg_sequence WHERE seqrelid = seq;
    IF seq IS NULL OR cache IS DISTINCT FROM 1 THEN
        RAISE EXCEPTION 'the statistics need %.id from a sequence with CACHE 1', tbl;
    END IF;
    RETURN seq;
END $$;

-- The last id the sequence of a table's id column handed out (0 for none), whatever
-- transaction took it: a sequence is read outside any snapshot.
CREATE FUNCTION stats_last_id(tbl regclass) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    last bigint;
BEGIN
    EXECUTE format('SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM %s',
                   stats_id_sequence(tbl))
       INTO last;
    RETURN greatest(last, 0);
END $$;

CREATE TABLE stats_watermarks (
    source    text PRIMARY KEY CHECK (source IN ('tickets', 'journal', 'order_products')),
    done      bigint NOT NULL,
    candidate bigint NOT NULL CHECK (candidate >= done),
    waiting   text[] NOT NULL
);

-- What exists was marked by the triggers (or, for order_products, is marked below).
INSERT INTO stats_watermarks (source, done, candidate, waiting)
SELECT s, stats_last_id(s::regclass), stats_last_id(s::regclass), '{}'
  FROM unnest(ARRAY['tickets', 'journal', 'order_products']) s;

INSERT INTO stats_dirty (kind, key)
SELECT DISTINCT 'q', stats_quarter(o.created_at)
  FROM orders o WHERE EXISTS (SELECT 1 FROM order_products p WHERE p.order_id = o.id);

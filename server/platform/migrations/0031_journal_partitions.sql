-- Guichet schema, version 31: the cash journal partitioned by month of `created_at` (in
-- UTC), with its lines and payments partitioned by the same month, so that an old season
-- can be detached (docs/scaling.md, "Postgres partitions"; docs/cash.md).
--
-- * journal: PRIMARY KEY (id, created_at), partitioned by RANGE (created_at).
-- * journal_lines, journal_payments: carry their entry's `journal_created_at`, partitioned by
--   it, with a real foreign key (journal_id, journal_created_at) -> journal (id, created_at);
--   a month's lines and payments sit in the month of their entry and detach with it.
-- * journal_receipts: one unpartitioned row per entry, PRIMARY KEY (register_id, receipt_no)
--   and UNIQUE (journal_id), written by a trigger on every journal insert: receipt numbers
--   and entry ids stay unique over every month, attached or detached, enforced by the
--   database. Its rows are never detached.
-- * The references to an entry from outside the journal (a refund's reverses_id, article,
--   pass and reservation payments, wallet ledger transactions) point at
--   journal_receipts (journal_id): still a real foreign key, and one that a detached month
--   does not break (the wallet ledger and the idempotency keys outlive a season).
-- * journal_detached: the anchors of the detached months (per register: first and last
--   receipt number and the last hash), so the chain of the attached months still verifies.

-- Who may write a receipt row: only the journal's insert trigger.
CREATE FUNCTION journal_receipts_from_journal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'journal_receipts rows are written by journal inserts only'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;

CREATE TABLE journal_receipts (
    register_id bigint NOT NULL REFERENCES registers(id),
    receipt_no  bigint NOT NULL CHECK (receipt_no >= 1),
    journal_id  bigint NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL,  -- the entry's, so its month is known without a scan
    PRIMARY KEY (register_id, receipt_no)
);
CREATE TRIGGER journal_receipts_guard BEFORE INSERT ON journal_receipts
FOR EACH ROW EXECUTE FUNCTION journal_receipts_from_journal();
CREATE TRIGGER journal_receipts_no_change BEFORE UPDATE OR DELETE ON journal_receipts
FOR EACH ROW EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_receipts_no_truncate BEFORE TRUNCATE ON journal_receipts
FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();

CREATE FUNCTION journal_receipt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO journal_receipts (register_id, receipt_no, journal_id, created_at)
    VALUES (NEW.register_id, NEW.receipt_no, NEW.id, NEW.created_at);
    RETURN NEW;
END $$;

CREATE TABLE journal_detached (
    register_id   bigint NOT NULL REFERENCES registers(id),
    first_receipt bigint NOT NULL,
    last_receipt  bigint NOT NULL,
    last_hash     bytea NOT NULL CHECK (length(last_hash) = 32),
    entries       bigint NOT NULL,
    partitions    text[] NOT NULL,  -- the tables detached together, e.g. {journal_p202401}
    detached_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (register_id, first_receipt),
    UNIQUE (register_id, last_receipt),
    CHECK (first_receipt >= 1 AND last_receipt >= first_receipt AND entries >= 1)
);
CREATE TRIGGER journal_detached_no_change BEFORE UPDATE OR DELETE ON journal_detached
FOR EACH ROW EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_detached_no_truncate BEFORE TRUNCATE ON journal_detached
FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();

-- Run by `partitions detach` once on the journal months it detached (no longer in
-- `journal`): records each register's anchor, and refuses (rolling the whole detach back)
-- unless those months hold, for every register, a run of receipts without a gap that
-- follows the months detached before and precedes every entry still attached.
CREATE FUNCTION journal_detached_anchor(parts text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    detached text;
    bad_register bigint;
BEGIN
    SELECT string_agg(format('SELECT register_id, receipt_no, hash FROM %I', p), ' UNION ALL ')
      INTO detached FROM unnest(parts) AS p;
    IF detached IS NULL THEN
        RETURN;
    END IF;
    EXECUTE format('INSERT INTO journal_detached (register_id, first_receipt, last_receipt,'
                   ' last_hash, entries, partitions) SELECT register_id, min(receipt_no),'
                   ' max(receipt_no), (array_agg(hash ORDER BY receipt_no DESC))[1], count(*),'
                   ' %L FROM (%s) d GROUP BY register_id', parts, detached);
    SELECT d.register_id INTO bad_register FROM journal_detached d
     WHERE d.partitions = parts AND d.detached_at = now()
       AND (d.last_receipt - d.first_receipt + 1 <> d.entries
            OR (d.first_receipt > 1 AND NOT EXISTS (
                SELECT 1 FROM journal_detached e
                 WHERE e.register_id = d.register_id AND e.last_receipt = d.first_receipt - 1))
            OR EXISTS (SELECT 1 FROM journal j
                        WHERE j.register_id = d.register_id AND j.receipt_no < d.last_receipt))
     LIMIT 1;
    IF bad_register IS NOT NULL THEN
        RAISE EXCEPTION 'register %: the entries detached are not the head of its chain',
            bad_register
            USING ERRCODE = 'check_violation',
                  HINT = 'detach up to a later month, so that its entries go with them';
    END IF;
END $$;

-- Every foreign key to the old table goes first.
ALTER TABLE journal DROP CONSTRAINT journal_reverses_id_fkey;
ALTER TABLE journal_lines DROP CONSTRAINT journal_lines_journal_id_fkey;
ALTER TABLE journal_payments DROP CONSTRAINT journal_payments_journal_id_fkey;
ALTER TABLE article_sales DROP CONSTRAINT article_sales_journal_id_fkey;
ALTER TABLE pass_sales DROP CONSTRAINT pass_sales_journal_id_fkey;
ALTER TABLE reservation_payments DROP CONSTRAINT reservation_payments_journal_id_fkey;
ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_journal_id_fkey;

ALTER SEQUENCE journal_id_seq OWNED BY NONE;
ALTER TABLE journal RENAME TO journal_unpartitioned;
ALTER TABLE journal_lines RENAME TO journal_lines_unpartitioned;
ALTER TABLE journal_payments RENAME TO journal_payments_unpartitioned;

CREATE TABLE journal (
    id                  bigint NOT NULL DEFAULT nextval('journal_id_seq'),
    register_id         bigint NOT NULL REFERENCES registers(id),
    receipt_no          bigint NOT NULL CONSTRAINT journal_receipt_no_check CHECK (receipt_no >= 1),
    register_session_id bigint REFERENCES register_sessions(id),
    cashier_id          bigint NOT NULL REFERENCES users(id),
    kind                text NOT NULL CONSTRAINT journal_kind_check CHECK (kind IN ('sale',
                        'refund', 'float', 'credit', 'debit', 'credit_error', 'debit_error',
                        'closing_difference', 'wallet_topup', 'wallet_debit')),
    created_at          timestamptz NOT NULL,
    currency            text NOT NULL CONSTRAINT journal_currency_check
                        CHECK (currency ~ '^[A-Z]{3}$'),
    total_cents         bigint NOT NULL,
    net_cents           bigint NOT NULL,
    tax_cents           bigint NOT NULL,
    order_id            bigint REFERENCES orders(id),
    reverses_id         bigint CONSTRAINT journal_reverses_id_fkey
                        REFERENCES journal_receipts(journal_id),
    reason              text,
    prev_hash           bytea NOT NULL CONSTRAINT journal_prev_hash_check
                        CHECK (length(prev_hash) = 32),
    hash                bytea NOT NULL CONSTRAINT journal_hash_check CHECK (length(hash) = 32),
    CONSTRAINT journal_check CHECK (net_cents + tax_cents = total_cents),
    CONSTRAINT journal_session_unless_bar
        CHECK (register_session_id IS NOT NULL OR kind = 'wallet_debit'),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
ALTER SEQUENCE journal_id_seq OWNED BY journal.id;

CREATE TABLE journal_lines (
    journal_id         bigint NOT NULL,
    line_no            integer NOT NULL CONSTRAINT journal_lines_line_no_check
                       CHECK (line_no >= 1),
    ticket_id          bigint REFERENCES tickets(id),
    tariff_id          bigint,
    description        text NOT NULL,
    quantity           integer NOT NULL CONSTRAINT journal_lines_quantity_check
                       CHECK (quantity <> 0),
    unit_gross_cents   bigint NOT NULL CONSTRAINT journal_lines_unit_gross_cents_check
                       CHECK (unit_gross_cents >= 0),
    tax_rate_bp        integer NOT NULL CONSTRAINT journal_lines_tax_rate_bp_check
                       CHECK (tax_rate_bp BETWEEN 0 AND 10000),
    net_cents          bigint NOT NULL,
    tax_cents          bigint NOT NULL,
    gross_cents        bigint NOT NULL,
    currency           text NOT NULL,
    article_id         bigint REFERENCES articles(id),
    pass_id            bigint REFERENCES passes(id),
    journal_created_at timestamptz NOT NULL,  -- the entry's created_at: the partition key
    CONSTRAINT journal_line_one_subject CHECK (ticket_id IS NULL OR article_id IS NULL),
    CONSTRAINT journal_lines_check CHECK (net_cents + tax_cents = gross_cents),
    CONSTRAINT journal_lines_check1 CHECK (gross_cents = quantity * unit_gross_cents),
    CONSTRAINT journal_lines_entry FOREIGN KEY (journal_id, journal_created_at)
        REFERENCES journal (id, created_at),
    PRIMARY KEY (journal_id, journal_created_at, line_no)
) PARTITION BY RANGE (journal_created_at);

CREATE TABLE journal_payments (
    journal_id         bigint NOT NULL,
    line_no            integer NOT NULL CONSTRAINT journal_payments_line_no_check
                       CHECK (line_no >= 1),
    method             text NOT NULL CONSTRAINT journal_payments_method_check
                       CHECK (method IN ('cash', 'card', 'wallet')),
    amount_cents       bigint NOT NULL,
    given_cents        bigint CONSTRAINT journal_payments_given_cents_check
                       CHECK (given_cents >= 0),
    change_cents       bigint CONSTRAINT journal_payments_change_cents_check
                       CHECK (change_cents >= 0),
    currency           text NOT NULL,
    journal_created_at timestamptz NOT NULL,
    CONSTRAINT journal_payments_check CHECK ((given_cents IS NULL) = (change_cents IS NULL)),
    CONSTRAINT journal_payments_check1 CHECK (given_cents IS NULL
        OR (method = 'cash' AND given_cents - change_cents = amount_cents)),
    CONSTRAINT journal_payments_entry FOREIGN KEY (journal_id, journal_created_at)
        REFERENCES journal (id, created_at),
    PRIMARY KEY (journal_id, journal_created_at, line_no)
) PARTITION BY RANGE (journal_created_at);

-- The default partitions (rows of a month without its partition: never refused).
CREATE TABLE journal_default PARTITION OF journal DEFAULT;
CREATE TABLE journal_lines_default PARTITION OF journal_lines DEFAULT;
CREATE TABLE journal_payments_default PARTITION OF journal_payments DEFAULT;
CREATE TRIGGER journal_default_no_truncate BEFORE TRUNCATE ON journal_default
FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_lines_default_no_truncate BEFORE TRUNCATE ON journal_lines_default
FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_payments_default_no_truncate BEFORE TRUNCATE ON journal_payments_default
FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();

-- A partition of each for every month that has entries, and this month and the next three.
SELECT guichet_month_partition(t.parent, t.key, m, 'journal_append_only')
FROM (SELECT DISTINCT date_trunc('month', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m
        FROM journal_unpartitioned
      UNION
      SELECT now() + make_interval(months => n) FROM generate_series(0, 3) AS n) AS months,
     (VALUES ('journal', 'created_at'), ('journal_lines', 'journal_created_at'),
             ('journal_payments', 'journal_created_at')) AS t (parent, key)
ORDER BY m, t.parent;

-- The receipt row of every entry, from here on and for the rows moved now.
CREATE TRIGGER journal_receipt BEFORE INSERT ON journal
FOR EACH ROW EXECUTE FUNCTION journal_receipt();

INSERT INTO journal (id, register_id, receipt_no, register_session_id, cashier_id, kind,
    created_at, currency, total_cents, net_cents, tax_cents, order_id, reverses_id, reason,
    prev_hash, hash)
SELECT id, register_id, receipt_no, register_session_id, cashier_id, kind, created_at,
    currency, total_cents, net_cents, tax_cents, order_id, reverses_id, reason, prev_hash, hash
FROM journal_unpartitioned ORDER BY id;

INSERT INTO journal_lines (journal_id, line_no, ticket_id, tariff_id, description, quantity,
    unit_gross_cents, tax_rate_bp, net_cents, tax_cents, gross_cents, currency, article_id,
    pass_id, journal_created_at)
SELECT l.journal_id, l.line_no, l.ticket_id, l.tariff_id, l.description, l.quantity,
    l.unit_gross_cents, l.tax_rate_bp, l.net_cents, l.tax_cents, l.gross_cents, l.currency,
    l.article_id, l.pass_id, j.created_at
FROM journal_lines_unpartitioned l JOIN journal_unpartitioned j ON j.id = l.journal_id;

INSERT INTO journal_payments (journal_id, line_no, method, amount_cents, given_cents,
    change_cents, currency, journal_created_at)
SELECT p.journal_id, p.line_no, p.method, p.amount_cents, p.given_cents, p.change_cents,
    p.currency, j.created_at
FROM journal_payments_unpartitioned p JOIN journal_unpartitioned j ON j.id = p.journal_id;

-- Nothing may be lost on the way (the joins above drop an orphan line, if any were there).
DO $$
BEGIN
    IF (SELECT count(*) FROM journal) <> (SELECT count(*) FROM journal_unpartitioned)
       OR (SELECT count(*) FROM journal_lines) <> (SELECT count(*) FROM journal_lines_unpartitioned)
       OR (SELECT count(*) FROM journal_payments)
          <> (SELECT count(*) FROM journal_payments_unpartitioned) THEN
        RAISE EXCEPTION 'journal rows were lost in the move to partitions';
    END IF;
END $$;

DROP TABLE journal_lines_unpartitioned;
DROP TABLE journal_payments_unpartitioned;
DROP TABLE journal_unpartitioned;

-- The indexes, built once on the moved rows. `journal_of_register` serves the chain's reads
-- (the uniqueness of receipt numbers is journal_receipts' primary key).
CREATE INDEX journal_of_register ON journal (register_id, receipt_no);
CREATE INDEX journal_of_session ON journal (register_session_id, receipt_no);
CREATE INDEX journal_of_order ON journal (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX journal_created_at ON journal (created_at);
CREATE INDEX journal_lines_ticket ON journal_lines (ticket_id) WHERE ticket_id IS NOT NULL;
CREATE INDEX journal_lines_article ON journal_lines (article_id) WHERE article_id IS NOT NULL;
CREATE INDEX journal_lines_pass ON journal_lines (pass_id) WHERE pass_id IS NOT NULL;

-- The references from outside the journal: to the entry's permanent receipt row.
ALTER TABLE article_sales ADD CONSTRAINT article_sales_journal_id_fkey
    FOREIGN KEY (journal_id) REFERENCES journal_receipts(journal_id);
ALTER TABLE pass_sales ADD CONSTRAINT pass_sales_journal_id_fkey
    FOREIGN KEY (journal_id) REFERENCES journal_receipts(journal_id);
ALTER TABLE reservation_payments ADD CONSTRAINT reservation_payments_journal_id_fkey
    FOREIGN KEY (journal_id) REFERENCES journal_receipts(journal_id);
ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_journal_id_fkey
    FOREIGN KEY (journal_id) REFERENCES journal_receipts(journal_id);

-- Append-only, on the parents and (row triggers are cloned) on every partition.
CREATE TRIGGER journal_no_change BEFORE UPDATE OR DELETE ON journal
FOR EACH ROW EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal
FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_lines_no_change BEFORE UPDATE OR DELETE ON journal_lines
FOR EACH ROW EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_lines_no_truncate BEFORE TRUNCATE ON journal_lines
FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_payments_no_change BEFORE UPDATE OR DELETE ON journal_payments
FOR EACH ROW EXECUTE FUNCTION journal_append_only();
CREATE TRIGGER journal_payments_no_truncate BEFORE TRUNCATE ON journal_payments
FOR EACH STATEMENT EXECUTE FUNCTION journal_append_only();

-- The statistics triggers (0026), after the move (the rows moved were counted already).
-- A line's quarter is its entry's: read from the line, without a join across partitions.
CREATE OR REPLACE FUNCTION stats_journal_lines_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_dirty (kind, key)
    SELECT DISTINCT 'q', stats_quarter(l.journal_created_at) FROM added l
    UNION
    SELECT DISTINCT 'b', l.ticket_id / 1024 FROM added l WHERE l.ticket_id IS NOT NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER journal_stats_insert AFTER INSERT ON journal
REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION stats_journal_added();
CREATE TRIGGER journal_lines_stats_insert AFTER INSERT ON journal_lines
REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION stats_journal_lines_added();

-- Guichet schema, version 25: the audit log partitioned by month (of `at`, in UTC), so
-- that an old season can be detached (docs/scaling.md, "Postgres partitions").
--
-- guichet_month_partition(parent, key, month, guard) makes the month's partition of a table
-- partitioned by RANGE (key) when it is missing; `server.cli partitions create-ahead` and
-- every server process (hourly, under an advisory lock) call it for the coming months.
-- A partition is named <parent>_pYYYYMM; rows outside every month fall in <parent>_default.
--
-- Scans and the journal are not partitioned (yet): their keys (`UNIQUE (device, nonce)`,
-- the journal's gap-free receipt numbers per register) and the foreign keys that point at
-- them (entries, door_conflicts; journal_lines, journal_payments, stock, wallet and
-- reservation rows) would all have to carry the timestamp; see docs/scaling.md.

CREATE FUNCTION guichet_month_partition(parent text, key text, month timestamptz, guard text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    lo timestamp := date_trunc('month', month AT TIME ZONE 'UTC');
    hi timestamp := lo + interval '1 month';
    name text := parent || '_p' || to_char(lo, 'YYYYMM');
    strays boolean;
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    -- Rows of that month already in the default partition would make the CREATE fail:
    -- leave the month to the default and say so (it happens only with back-dated rows).
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I >= $1 AND %I < $2)',
                   parent || '_default', key, key)
        INTO strays USING lo AT TIME ZONE 'UTC', hi AT TIME ZONE 'UTC';
    IF strays THEN
        RAISE WARNING '% has rows of %: its partition is not made', parent || '_default', name;
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                   name, parent, lo AT TIME ZONE 'UTC', hi AT TIME ZONE 'UTC');
    -- Row triggers are cloned onto partitions; TRUNCATE triggers are not: add the guard.
    IF guard IS NOT NULL THEN
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT'
                       ' EXECUTE FUNCTION %I()', name || '_no_truncate', name, guard);
    END IF;
    RETURN true;
END $$;

-- The audit log, rebuilt partitioned. The primary key must hold the partition key.
ALTER SEQUENCE audit_log_id_seq OWNED BY NONE;
ALTER TABLE audit_log RENAME TO audit_log_unpartitioned;

CREATE TABLE audit_log (
    id            bigint NOT NULL DEFAULT nextval('audit_log_id_seq'),
    at            timestamptz NOT NULL DEFAULT now(),
    actor_id      bigint,
    actor_name    text,
    device_id     bigint,
    point_of_sale text,
    address       text,
    action        text NOT NULL,
    subject       text NOT NULL DEFAULT '',
    details       jsonb NOT NULL DEFAULT '{}'
) PARTITION BY RANGE (at);
ALTER SEQUENCE audit_log_id_seq OWNED BY audit_log.id;

CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;
CREATE TRIGGER audit_log_default_no_truncate BEFORE TRUNCATE ON audit_log_default
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- A partition for every month that has rows, and for this month and the next three.
SELECT guichet_month_partition('audit_log', 'at', m, 'audit_log_append_only')
FROM (SELECT DISTINCT date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m
        FROM audit_log_unpartitioned
      UNION
      SELECT now() + make_interval(months => n) FROM generate_series(0, 3) AS n) AS months
ORDER BY m;

INSERT INTO audit_log SELECT * FROM audit_log_unpartitioned;
DROP TABLE audit_log_unpartitioned;

ALTER TABLE audit_log ADD PRIMARY KEY (id, at);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_action ON audit_log (action, at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, at);

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

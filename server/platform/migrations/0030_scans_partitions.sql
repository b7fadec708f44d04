-- Guichet schema, version 30: the door's scans partitioned by month of `received_at` (the
-- server's clock, in UTC), so that an old season can be detached like the audit log's
-- (migration 0025, docs/scaling.md "Postgres partitions").
--
-- Why `received_at` and not the device's `scanned_at`: a retried scan must be answered the
-- same and stored once, and a unique key of a partitioned table must hold the partition key.
-- `UNIQUE (device, nonce, scanned_at)` would not be an idempotency key: an online scan sent
-- without `scanned_at` is dated by the server when it arrives (server/door/requests.py), so
-- its retry carries another time, and a scan first sent online may come back in an offline
-- upload with the device's time. The device's clock may also be anything at all.
--
-- So the nonce check leaves `scans` for a small unpartitioned table, `scan_nonces`: its
-- primary key (device, nonce) turns a retry away forever, whatever month the scan lies in
-- (detached or not). Every insert into `scans` claims its nonce in the same statement
-- (a CTE: `INSERT INTO scan_nonces ... ON CONFLICT DO NOTHING RETURNING`, then the scan for
-- the nonces claimed), so the door's hot path keeps its statement count: one more row and
-- two index entries per scan, and `scans` loses its (device, nonce) index. A replay is
-- read through `scan_nonces` (scan id and received_at: one partition's primary key).
--
-- The foreign keys of `entries.scan_id` and `door_conflicts` (kept_scan_id, other_scan_id)
-- now point at `scan_nonces (scan_id)`: it holds the id of every scan ever stored. Pointing
-- them at `scans (id, received_at)` would keep them on `scans` but forbid detaching any month
-- that holds an entry's scan (Postgres refuses to detach a partition whose rows are still
-- referenced), which is every month of a season; entries are not archived with the scans.
-- They stay deferred: an entry is written before its scan in the first-entry statement.

CREATE TABLE scan_nonces (
    device      text NOT NULL,
    nonce       text NOT NULL,
    scan_id     bigint NOT NULL UNIQUE,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device, nonce)
);
INSERT INTO scan_nonces (device, nonce, scan_id, received_at)
SELECT device, nonce, id, received_at FROM scans;

ALTER TABLE entries DROP CONSTRAINT entries_scan_id_fkey;
ALTER TABLE door_conflicts
    DROP CONSTRAINT door_conflicts_kept_scan_id_fkey,
    DROP CONSTRAINT door_conflicts_other_scan_id_fkey;

-- The scans, rebuilt partitioned (columns in the same order). The primary key must hold the
-- partition key.
ALTER SEQUENCE scans_id_seq OWNED BY NONE;
ALTER TABLE scans RENAME TO scans_unpartitioned;

CREATE TABLE scans (
    id          bigint NOT NULL DEFAULT nextval('scans_id_seq'),
    ticket_id   bigint,
    session_id  bigint,
    device      text NOT NULL,
    door        text NOT NULL,
    nonce       text NOT NULL,
    result      text NOT NULL CONSTRAINT scans_result_check CHECK (result IN ('valid', 'refused')),
    reason      text,
    scanned_at  timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    offline     boolean NOT NULL DEFAULT false,
    mode        text NOT NULL DEFAULT 'entry'
                CONSTRAINT scans_mode_check CHECK (mode IN ('entry', 'exit')),
    reentry     boolean NOT NULL DEFAULT false,
    pass_id     bigint,
    CONSTRAINT scans_check CHECK ((result = 'valid') = (reason IS NULL))
) PARTITION BY RANGE (received_at);
ALTER SEQUENCE scans_id_seq OWNED BY scans.id;

CREATE TABLE scans_default PARTITION OF scans DEFAULT;

-- A partition for every month that has scans, and for this month and the next three.
SELECT guichet_month_partition('scans', 'received_at', m, NULL)
FROM (SELECT DISTINCT date_trunc('month', received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
        AS m FROM scans_unpartitioned
      UNION
      SELECT now() + make_interval(months => n) FROM generate_series(0, 3) AS n) AS months
ORDER BY m;

INSERT INTO scans SELECT * FROM scans_unpartitioned;
DROP TABLE scans_unpartitioned;

-- Keys, indexes and foreign keys once the rows are in (checked once, named as before).
ALTER TABLE scans ADD PRIMARY KEY (id, received_at);
ALTER TABLE scans
    ADD CONSTRAINT scans_session_id_fkey FOREIGN KEY (session_id) REFERENCES sessions(id),
    ADD CONSTRAINT scans_pass_id_fkey FOREIGN KEY (pass_id) REFERENCES passes(id);
CREATE INDEX scans_session ON scans (session_id, received_at);
CREATE INDEX scans_ticket ON scans (ticket_id);

ALTER TABLE entries ADD CONSTRAINT entries_scan_id_fkey FOREIGN KEY (scan_id)
    REFERENCES scan_nonces (scan_id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE door_conflicts
    ADD CONSTRAINT door_conflicts_kept_scan_id_fkey FOREIGN KEY (kept_scan_id)
        REFERENCES scan_nonces (scan_id) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT door_conflicts_other_scan_id_fkey FOREIGN KEY (other_scan_id)
        REFERENCES scan_nonces (scan_id) DEFERRABLE INITIALLY DEFERRED;

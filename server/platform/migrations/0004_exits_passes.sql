-- Guichet schema, version 4: exit scans and re-entry, reservations, passes.

-- Exit scans and re-entry. A session may let a ticket that went out come back in; the
-- entry row of a ticket keeps whether its holder is inside now, and how many times the
-- ticket went out and came back. Counters: entered = entries + re-entries, exited = exits,
-- inside = entered - exited = entries where inside.
ALTER TABLE sessions ADD COLUMN reentry_allowed boolean NOT NULL DEFAULT false;

-- `reentry`: a valid entry scan of a ticket that had gone out (not its first entry).
ALTER TABLE scans
    ADD COLUMN mode    text NOT NULL DEFAULT 'entry' CHECK (mode IN ('entry', 'exit')),
    ADD COLUMN reentry boolean NOT NULL DEFAULT false;

ALTER TABLE entries
    ADD COLUMN inside         boolean NOT NULL DEFAULT true,
    ADD COLUMN reentries      integer NOT NULL DEFAULT 0 CHECK (reentries >= 0),
    ADD COLUMN exits          integer NOT NULL DEFAULT 0 CHECK (exits >= 0),
    ADD COLUMN last_exit_at   timestamptz,
    ADD COLUMN last_exit_door text,
    ADD CONSTRAINT entries_inside_is_entered_minus_exited
        CHECK ((1 + reentries - exits) = (CASE WHEN inside THEN 1 ELSE 0 END));

-- Passes (abonnements): a holder with a photo, a validity window, the sessions it may
-- attend (a list, or every session starting within its window), and at most how many.
CREATE TABLE passes (
    id            bigserial PRIMARY KEY,
    holder_name   text NOT NULL,
    photo         text,
    valid_from    timestamptz NOT NULL,
    valid_until   timestamptz NOT NULL,
    all_sessions  boolean NOT NULL DEFAULT false,
    session_ids   bigint[] NOT NULL DEFAULT '{}',
    max_sessions  integer CHECK (max_sessions > 0),
    status        text NOT NULL DEFAULT 'active'
                  CHECK (status IN ('active', 'refunded', 'cancelled')),
    code_seed     bytea NOT NULL DEFAULT substring(uuid_send(gen_random_uuid()) FROM 1 FOR 6),
    created_by    bigint REFERENCES users(id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_until > valid_from)
);

-- An order is a sale, a reservation (released if not scanned in time) or the booking of a
-- session on a pass (made when the pass is scanned).
ALTER TABLE orders
    ADD COLUMN kind text NOT NULL DEFAULT 'sale' CHECK (kind IN ('sale', 'reservation', 'pass'));

-- A ticket booked on a pass; one active booking per pass and session.
ALTER TABLE tickets ADD COLUMN pass_id bigint REFERENCES passes(id);
CREATE UNIQUE INDEX tickets_one_per_pass_session
    ON tickets (pass_id, session_id) WHERE status = 'active' AND pass_id IS NOT NULL;

ALTER TABLE scans ADD COLUMN pass_id bigint REFERENCES passes(id);

-- What Redis must learn after a commit, written in the same transaction (see
-- server/seating/outbox.py). The committing process applies an entry and deletes it; an
-- entry left behind (the process died, Redis failed) is applied by any process.
CREATE TABLE outbox (
    id         bigserial PRIMARY KEY,
    session_id bigint NOT NULL REFERENCES sessions(id),
    op         text NOT NULL CHECK (op IN ('sell', 'unsell', 'block', 'reload')),
    args       jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_session ON outbox (session_id);

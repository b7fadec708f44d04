-- Export jobs (docs/exports.md): a long export (a big statement as CSV or XLSX, the ticket
-- PDFs of a session) is queued here, produced by whichever server process claims it first
-- (FOR UPDATE SKIP LOCKED) and downloaded by its requester once done. A running job holds
-- a lease its worker renews with every progress report; a job whose lease ran out (its
-- worker died) is claimed again from the start, at most `max_attempts` times.
CREATE TABLE export_jobs (
    id            bigserial PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('statement', 'tickets')),
    params        jsonb NOT NULL,
    requested_by  bigint NOT NULL REFERENCES users(id),
    status        text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'done', 'failed')),
    done          bigint NOT NULL DEFAULT 0 CHECK (done >= 0),
    total         bigint CHECK (total >= 0),
    attempts      integer NOT NULL DEFAULT 0,
    worker        text,
    lease_until   timestamptz,
    file_name     text,
    file_path     text,
    size_bytes    bigint,
    error         text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    expires_at    timestamptz NOT NULL
);
CREATE INDEX export_jobs_waiting ON export_jobs (id) WHERE status IN ('queued', 'running');
CREATE INDEX export_jobs_requester ON export_jobs (requested_by, id);
CREATE INDEX export_jobs_expiry ON export_jobs (expires_at);

-- Guichet schema, version 2: door control. Signing keys of ticket codes, the seed that
-- makes each issued code unique (and revocable), scanner devices, every scan, the entries
-- (first scan wins) and the conflicts found when offline scans are uploaded.

-- Ed25519 keys of ticket codes (see docs/ticket-codes.md). A retired key keeps its id
-- reserved and loses its private key.
CREATE TABLE signing_keys (
    key_id          smallint PRIMARY KEY CHECK (key_id BETWEEN 0 AND 255),
    private_key_b64 text,
    active          boolean NOT NULL DEFAULT false,
    retired         boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (NOT (active AND retired)),
    CHECK (retired OR private_key_b64 IS NOT NULL)
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((true)) WHERE active;

-- The random seed of the ticket's current code. The default lets sales stay unchanged;
-- re-issuing a code means a new seed (and a revocation of the old one).
ALTER TABLE tickets
    ADD COLUMN code_seed bytea NOT NULL
    DEFAULT substring(uuid_send(gen_random_uuid()) FROM 1 FOR 6);

-- Revoked codes: one issued code is (ticket id, seed), its `code_ref` on the scanner.
CREATE TABLE revocations (
    ticket_id  bigint NOT NULL REFERENCES tickets(id),
    seed       bytea NOT NULL,
    reason     text NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticket_id, seed)
);

-- Enrolled scanner devices (an admin enrols them; a device holds an entry_check token).
CREATE TABLE devices (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    room_id     bigint REFERENCES rooms(id),
    language    text NOT NULL DEFAULT 'fr',
    mode        text NOT NULL DEFAULT 'entry' CHECK (mode IN ('entry', 'exit')),
    enrolled_by bigint REFERENCES users(id),
    enrolled_at timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- Every scan, valid or refused, online or uploaded later. (device, nonce) makes retries
-- and re-uploads idempotent. `scanned_at` is the device's clock, `received_at` the server's.
CREATE TABLE scans (
    id          bigserial PRIMARY KEY,
    ticket_id   bigint,
    session_id  bigint REFERENCES sessions(id),
    device      text NOT NULL,
    door        text NOT NULL,
    nonce       text NOT NULL,
    result      text NOT NULL CHECK (result IN ('valid', 'refused')),
    reason      text,
    scanned_at  timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    offline     boolean NOT NULL DEFAULT false,
    UNIQUE (device, nonce),
    CHECK ((result = 'valid') = (reason IS NULL))
);
CREATE INDEX scans_session ON scans (session_id, received_at);
CREATE INDEX scans_ticket ON scans (ticket_id);

-- One entry per ticket and session: the primary key *is* "first scan wins". The scan it
-- points to may be inserted later in the same transaction, hence the deferred check.
CREATE TABLE entries (
    session_id bigint NOT NULL REFERENCES sessions(id),
    ticket_id  bigint NOT NULL,
    scan_id    bigint NOT NULL REFERENCES scans(id) DEFERRABLE INITIALLY DEFERRED,
    device     text NOT NULL,
    door       text NOT NULL,
    entered_at timestamptz NOT NULL,
    PRIMARY KEY (session_id, ticket_id)
);

-- The same ticket admitted twice, found when offline scans arrive: both scans are kept;
-- `kept_scan_id` is the earliest (the entry), `other_scan_id` the one that also let
-- someone in. For the organiser to follow up.
CREATE TABLE door_conflicts (
    id            bigserial PRIMARY KEY,
    session_id    bigint NOT NULL REFERENCES sessions(id),
    ticket_id     bigint NOT NULL,
    kept_scan_id  bigint NOT NULL REFERENCES scans(id) DEFERRABLE INITIALLY DEFERRED,
    other_scan_id bigint NOT NULL REFERENCES scans(id) DEFERRABLE INITIALLY DEFERRED,
    detected_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kept_scan_id, other_scan_id)
);
CREATE INDEX door_conflicts_session ON door_conflicts (session_id, id);

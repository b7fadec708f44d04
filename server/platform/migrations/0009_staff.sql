-- Staff: display names, languages, disabled accounts, points of sale, cookie sessions of the
-- staff pages, and the append-only audit log.

ALTER TABLE users
    ADD COLUMN display_name text NOT NULL DEFAULT '',
    ADD COLUMN language     text NOT NULL DEFAULT 'fr' CHECK (language IN ('fr', 'en')),
    ADD COLUMN disabled_at  timestamptz,
    ADD COLUMN last_sign_in_at timestamptz;

-- Where sales happen: cash desks, bars, the e-shop ("Eshop" always exists).
CREATE TABLE points_of_sale (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    kind       text NOT NULL DEFAULT 'desk' CHECK (kind IN ('desk', 'bar', 'eshop', 'kiosk')),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO points_of_sale (name, kind) VALUES ('Eshop', 'eshop');

CREATE TABLE user_points_of_sale (
    user_id          bigint NOT NULL REFERENCES users(id),
    point_of_sale_id bigint NOT NULL REFERENCES points_of_sale(id),
    PRIMARY KEY (user_id, point_of_sale_id)
);

-- When a device last called (written at most once a minute per process).
ALTER TABLE devices ADD COLUMN last_seen_at timestamptz;

-- A signed-in staff page: the cookie carries a signed token naming this row, so signing out
-- (or an admin ending it) voids that one session in every process.
CREATE TABLE staff_sessions (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    ended_at   timestamptz,
    address    text,
    user_agent text
);
CREATE INDEX staff_sessions_ended ON staff_sessions (ended_at) WHERE ended_at IS NOT NULL;

-- Who did what, when, from where. Rows are only ever inserted: a trigger refuses UPDATE and
-- DELETE (TRUNCATE too), whoever asks.
CREATE TABLE audit_log (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor_id      bigint,
    actor_name    text,
    device_id     bigint,
    point_of_sale text,
    address       text,
    action        text NOT NULL,
    subject       text NOT NULL DEFAULT '',
    details       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_action ON audit_log (action, at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

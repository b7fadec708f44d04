-- Guichet schema, version 1: catalogue (venues, rooms, seat plans, sessions, tariffs,
-- contingents), sales (orders, tickets) and users.

CREATE TABLE settings (
    name  text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    roles         text[] NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE venues (
    id   bigserial PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE rooms (
    id       bigserial PRIMARY KEY,
    venue_id bigint NOT NULL REFERENCES venues(id),
    name     text NOT NULL
);

-- A seat plan is immutable once written: changing a room's plan writes a new version.
CREATE TABLE seat_plans (
    id         bigserial PRIMARY KEY,
    room_id    bigint NOT NULL REFERENCES rooms(id),
    name       text NOT NULL,
    document   jsonb NOT NULL,
    seat_count integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE rooms ADD COLUMN seat_plan_id bigint REFERENCES seat_plans(id);

-- Seats of a plan; `idx` is the seat's position in the plan, used on the wire.
CREATE TABLE seats (
    plan_id    bigint NOT NULL REFERENCES seat_plans(id),
    idx        integer NOT NULL,
    seat_id    text NOT NULL,
    label      text NOT NULL,
    row_label  text NOT NULL,
    zone       text NOT NULL,
    category   text NOT NULL,
    x          real NOT NULL,
    y          real NOT NULL,
    accessible boolean NOT NULL DEFAULT false,
    PRIMARY KEY (plan_id, idx),
    UNIQUE (plan_id, seat_id)
);

CREATE TABLE sessions (
    id          bigserial PRIMARY KEY,
    room_id     bigint NOT NULL REFERENCES rooms(id),
    event_name  text NOT NULL,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    seated      boolean NOT NULL,
    seat_plan_id bigint REFERENCES seat_plans(id),
    capacity    integer NOT NULL CHECK (capacity >= 0),
    sales_open  boolean NOT NULL DEFAULT true,
    CHECK (ends_at > starts_at),
    CHECK (NOT seated OR seat_plan_id IS NOT NULL)
);
CREATE INDEX sessions_starts_at ON sessions (starts_at);

CREATE TABLE tariffs (
    id          bigserial PRIMARY KEY,
    session_id  bigint NOT NULL REFERENCES sessions(id),
    name        text NOT NULL,
    price_cents integer NOT NULL CHECK (price_cents >= 0),
    currency    char(3) NOT NULL
);

-- Named groups of seats (seated) or of places (general admission).
CREATE TABLE contingents (
    id         bigserial PRIMARY KEY,
    session_id bigint NOT NULL REFERENCES sessions(id),
    name       text NOT NULL,
    capacity   integer NOT NULL CHECK (capacity >= 0),
    seat_ids   text[] NOT NULL DEFAULT '{}'
);

CREATE TABLE blocked_seats (
    session_id bigint NOT NULL REFERENCES sessions(id),
    seat_idx   integer NOT NULL,
    reason     text NOT NULL DEFAULT 'blocked',
    PRIMARY KEY (session_id, seat_idx)
);

CREATE TABLE orders (
    id              bigserial PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    session_id      bigint NOT NULL REFERENCES sessions(id),
    hold_token      text NOT NULL,
    channel         text NOT NULL,
    buyer_name      text,
    buyer_email     text,
    total_cents     integer NOT NULL,
    currency        char(3) NOT NULL,
    created_by      bigint REFERENCES users(id),
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tickets (
    id          bigserial PRIMARY KEY,
    order_id    bigint NOT NULL REFERENCES orders(id),
    session_id  bigint NOT NULL REFERENCES sessions(id),
    seat_idx    integer,
    tariff_id   bigint NOT NULL REFERENCES tariffs(id),
    price_cents integer NOT NULL,
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'refunded', 'cancelled')),
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- The last line of defence against a double sale, whatever Redis says.
CREATE UNIQUE INDEX tickets_one_active_per_seat
    ON tickets (session_id, seat_idx) WHERE status = 'active' AND seat_idx IS NOT NULL;
CREATE INDEX tickets_order ON tickets (order_id);
CREATE INDEX tickets_session ON tickets (session_id) WHERE status = 'active';

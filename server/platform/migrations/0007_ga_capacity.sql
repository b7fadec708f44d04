-- General admission: the places sold of each session in one counter row, kept by triggers
-- on tickets, and a CHECK that it never passes the capacity. Whatever path inserts a ticket
-- (sales, pass bookings, the cash desk later), Postgres refuses the place too many; the
-- counter row is locked only from the first ticket insert to the commit, and the count is
-- no longer recomputed by each sale.
CREATE TABLE ga_counters (
    session_id bigint PRIMARY KEY REFERENCES sessions(id),
    capacity   integer NOT NULL CHECK (capacity >= 0),
    sold       integer NOT NULL DEFAULT 0,
    CONSTRAINT ga_within_capacity CHECK (sold <= capacity)
);

INSERT INTO ga_counters (session_id, capacity, sold)
SELECT s.id, greatest(s.capacity, count(t.id)), count(t.id)
FROM sessions s
LEFT JOIN tickets t ON t.session_id = s.id AND t.status = 'active' AND t.seat_idx IS NULL
WHERE NOT s.seated
GROUP BY s.id;

CREATE FUNCTION ga_session_counter() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT NEW.seated THEN
        INSERT INTO ga_counters (session_id, capacity) VALUES (NEW.id, NEW.capacity)
        ON CONFLICT (session_id) DO UPDATE SET capacity = excluded.capacity;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER sessions_ga_counter AFTER INSERT OR UPDATE OF capacity ON sessions
FOR EACH ROW EXECUTE FUNCTION ga_session_counter();

CREATE FUNCTION ga_count_tickets() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta integer := 0;
BEGIN
    IF NEW.seat_idx IS NOT NULL THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status = 'active' THEN delta := 1; END IF;
    ELSIF OLD.status = 'active' AND NEW.status <> 'active' THEN
        delta := -1;
    ELSIF OLD.status <> 'active' AND NEW.status = 'active' THEN
        delta := 1;
    END IF;
    IF delta <> 0 THEN
        UPDATE ga_counters SET sold = sold + delta WHERE session_id = NEW.session_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER tickets_ga_count AFTER INSERT OR UPDATE OF status ON tickets
FOR EACH ROW EXECUTE FUNCTION ga_count_tickets();

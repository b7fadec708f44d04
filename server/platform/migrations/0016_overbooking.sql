-- Overbooking at the cash desk (permission sell.overbook): general-admission places sold
-- past the capacity are counted in `overbooked`, and the capacity CHECK allows that many
-- more. The live mirror in Redis still gates ordinary sales at the capacity; this CHECK is
-- the backstop whatever path inserts a ticket. Refunds do not lower the count: it says how
-- many places were sold by overbooking.
ALTER TABLE ga_counters ADD COLUMN overbooked integer NOT NULL DEFAULT 0
    CHECK (overbooked >= 0);
ALTER TABLE ga_counters DROP CONSTRAINT ga_within_capacity;
ALTER TABLE ga_counters ADD CONSTRAINT ga_within_capacity
    CHECK (sold <= capacity + overbooked);

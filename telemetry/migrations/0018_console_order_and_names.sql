-- What the console and the planner must agree on, defined once in the store: a service point's English
-- name (Korean pages and Korean messages use `name`, English ones `name_en`), how many inspections a
-- point takes a day, and the class that puts a ticket in its place in the work queue.

-- NULL until someone gives the point an English name: English pages then show the point's id and
-- English messages say "our service centre", never the Korean name. The shipped seed network fills
-- the names of its own points (diagnostics.service_points.seed_if_empty), so existing rows are not
-- guessed at here.
ALTER TABLE service_points
    ADD COLUMN name_en text CHECK (name_en <> '' AND name_en !~ '[가-힣ㄱ-ㅎㅏ-ㅣ]');

-- Inspection visits a point makes per day in the campaign window: its own number, or a third of its
-- daily repair capacity (at least one). The planner, the answers and the campaign page all read this.
CREATE FUNCTION daily_inspection_slots(sp service_points) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce(sp.inspection_slots, greatest(1, sp.daily_capacity / 3));

-- The queue's classes, in working order: 0 an emergency (evacuate: gas or CO), 1 any other ticket
-- for a safety-critical code ($4: the catalog's safety-critical codes), then 1 + priority (2..5) for
-- the rest, where an escalated ticket already carries its raised priority.
CREATE FUNCTION ticket_queue_class(kind text, codes text[], priority smallint, safety_codes text[])
    RETURNS smallint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (CASE WHEN kind = 'emergency' THEN 0 WHEN codes && safety_codes THEN 1 ELSE 1 + priority END)::smallint;

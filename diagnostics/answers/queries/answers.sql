-- Named queries of the standard answer database (migration 0026).

-- name: seed_entry
-- A seed entry, unless one with its id exists (staff edits are never overwritten); its first version.
WITH e AS (
    INSERT INTO answer_entries (entry_id, kind, code, owner, body, updated_by, review_due, model_family)
    VALUES ($1, $2, $3, $4, $5::jsonb, 'seed', (clock_timestamp() AT TIME ZONE 'Asia/Seoul')::date + 30, $6)
    ON CONFLICT (entry_id) DO NOTHING
    RETURNING entry_id, body
)
INSERT INTO answer_versions (entry_id, version, body, changed_by, why)
SELECT entry_id, 1, body, 'seed', 'seeded from the catalog and the common questions' FROM e;

-- name: all_entries
SELECT entry_id, kind, code, model_family, owner, body::text AS body, version, updated_at, updated_by, reviewed_at,
       review_due,
       (SELECT count(*) FROM answer_flags AS f WHERE f.entry_id = e.entry_id AND f.resolved_at IS NULL) AS open_flags
FROM answer_entries AS e ORDER BY entry_id;

-- name: entry
SELECT entry_id, kind, code, model_family, owner, body::text AS body, version, updated_at, updated_by, reviewed_at,
       review_due,
       (SELECT count(*) FROM answer_flags AS f WHERE f.entry_id = e.entry_id AND f.resolved_at IS NULL) AS open_flags
FROM answer_entries AS e WHERE entry_id = $1;

-- name: for_code
-- The entry that answers a code on a device of model $2: its model family's own entry, else the code's.
SELECT entry_id, kind, code, model_family, owner, body::text AS body, version, updated_at, updated_by, reviewed_at,
       review_due,
       (SELECT count(*) FROM answer_flags AS f WHERE f.entry_id = e.entry_id AND f.resolved_at IS NULL) AS open_flags
FROM answer_entries AS e
WHERE code = $1 AND (model_family IS NULL OR model_family = model_family($2))
ORDER BY model_family IS NULL, entry_id
LIMIT 1;

-- name: for_device_code
-- for_code for the model of device $2.
SELECT entry_id, kind, code, model_family, owner, body::text AS body, version, updated_at, updated_by, reviewed_at,
       review_due,
       (SELECT count(*) FROM answer_flags AS f WHERE f.entry_id = e.entry_id AND f.resolved_at IS NULL) AS open_flags
FROM answer_entries AS e
WHERE code = $1 AND (model_family IS NULL
                     OR model_family = model_family((SELECT model FROM devices WHERE device_id = $2)))
ORDER BY model_family IS NULL, entry_id
LIMIT 1;

-- name: generation
-- Changes when any entry does: the search index is rebuilt then.
SELECT count(*)::text || ':' || coalesce(max(updated_at)::text, '') FROM answer_entries;

-- name: lock_entry
SELECT version FROM answer_entries WHERE entry_id = $1 FOR UPDATE;

-- name: update_entry
-- A new version: the body, who and why; the review is done as of now, due again in a month.
WITH e AS (
    UPDATE answer_entries SET body = $2::jsonb, version = version + 1, updated_at = clock_timestamp(),
        updated_by = $3, reviewed_at = clock_timestamp(),
        review_due = (clock_timestamp() AT TIME ZONE 'Asia/Seoul')::date + 30
    WHERE entry_id = $1
    RETURNING entry_id, version, body
)
INSERT INTO answer_versions (entry_id, version, body, changed_by, why)
SELECT entry_id, version, body, $3, $4 FROM e
RETURNING version;

-- name: mark_reviewed
UPDATE answer_entries SET reviewed_at = clock_timestamp(), review_due = (clock_timestamp() AT TIME ZONE 'Asia/Seoul')::date + 30
WHERE entry_id = $1 RETURNING review_due;

-- name: versions
SELECT version, body::text AS body, changed_by, why, at FROM answer_versions WHERE entry_id = $1 ORDER BY version;

-- name: overdue
SELECT entry_id, owner, review_due FROM answer_entries WHERE review_due < $1 ORDER BY review_due, entry_id;

-- name: add_flag
INSERT INTO answer_flags (entry_id, flagged_by, note) VALUES ($1, $2, $3) RETURNING flag_id;

-- name: open_flags
SELECT f.flag_id, f.entry_id, e.owner, f.flagged_by, f.note, f.at FROM answer_flags AS f
JOIN answer_entries AS e USING (entry_id)
WHERE f.resolved_at IS NULL AND ($1::text IS NULL OR e.owner = $1) ORDER BY f.flag_id;

-- name: resolve_flag
UPDATE answer_flags SET resolved_at = clock_timestamp(), resolved_by = $2, resolution = $3
WHERE flag_id = $1 AND resolved_at IS NULL RETURNING flag_id;

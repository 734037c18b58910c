-- Named queries for reading the quarantine back (the gateway writes it: see ingest.sql).

-- name: list_quarantine
-- Newest first; $1 reason (or NULL), $2 device_id (or NULL), $3 only ids below it (or NULL), $4 limit,
-- $5 how many leading payload bytes to return.
SELECT quarantine_id, topic, device_id, reason, detail, substring(payload FROM 1 FOR $5) AS payload_head,
       payload_size, first_seen, last_seen, occurrences
FROM quarantine
WHERE ($1::text IS NULL OR reason = $1)
  AND ($2::text IS NULL OR device_id = $2)
  AND ($3::bigint IS NULL OR quarantine_id < $3)
ORDER BY quarantine_id DESC
LIMIT $4;

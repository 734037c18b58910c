-- Named queries of the sink provider's record (table alert_sink_messages: migration 0009).

-- name: insert_sink_message
INSERT INTO alert_sink_messages (alert_id, channel, recipient, template_code, body)
VALUES ($1, $2, $3, $4, $5)
RETURNING message_id;

-- name: list_sink_messages
-- Newest first, keyset on message_id ($1: before, NULL for the first page).
SELECT message_id, alert_id, channel, recipient, template_code, body, received_at
FROM alert_sink_messages WHERE ($1::bigint IS NULL OR message_id < $1)
ORDER BY message_id DESC LIMIT $2;

-- name: erase_recipient
-- Data protection: what the sink recorded for the person goes; how many.
WITH erased AS (
    DELETE FROM alert_sink_messages WHERE national_phone(recipient) = $1
    RETURNING 1
)
SELECT count(*) FROM erased;

-- Named queries of API keys (table: migration 0008) and of what a scoped key may see.

-- name: insert_key
INSERT INTO api_keys (key_id, name, role, secret_sha256, service_point_id, customer_phone, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING key_id, name, role, service_point_id, customer_phone, created_at, created_by, last_used_at, revoked_at;

-- name: key_for_auth
-- Also marks the key used, at most once a minute (a write per request would cost more than the check).
WITH k AS (
    SELECT key_id, name, role, secret_sha256, service_point_id, customer_phone
    FROM api_keys WHERE key_id = $1 AND revoked_at IS NULL
), touched AS (
    UPDATE api_keys SET last_used_at = clock_timestamp()
    WHERE key_id = (SELECT key_id FROM k)
      AND (last_used_at IS NULL OR last_used_at < clock_timestamp() - interval '1 minute')
)
SELECT * FROM k;

-- name: key_for_reads
-- key_for_auth without marking the key used: for read-only routes, which may run on a replica.
SELECT key_id, name, role, secret_sha256, service_point_id, customer_phone
FROM api_keys WHERE key_id = $1 AND revoked_at IS NULL;

-- name: list_keys
SELECT key_id, name, role, service_point_id, customer_phone, created_at, created_by, last_used_at, revoked_at
FROM api_keys WHERE key_id > $1 ORDER BY key_id LIMIT $2;

-- name: revoke_key
UPDATE api_keys SET revoked_at = coalesce(revoked_at, clock_timestamp()) WHERE key_id = $1
RETURNING key_id;

-- name: device_has_contact
-- Whether the phone (national form) is a contact of the device.
SELECT EXISTS (SELECT 1 FROM device_contacts WHERE device_id = $1 AND phone_national = $2);

-- name: device_served_by
-- Whether an unfinished ticket of the device is assigned to the service point: a technician sees a
-- device while there is work on it, not for ever after.
SELECT EXISTS (SELECT 1 FROM tickets
               WHERE device_id = $1 AND service_point_id = $2
                 AND status NOT IN ('resolved', 'closed', 'resolved_remotely', 'cancelled'));

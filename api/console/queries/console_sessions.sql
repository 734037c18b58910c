-- Named queries of console sign-ins (table: migration 0015).

-- name: insert_session
INSERT INTO console_sessions (session_sha256, key_id, csrf_token, expires_at)
VALUES ($1, $2, $3, clock_timestamp() + $4::interval);

-- name: session_identity
-- The key behind a live session, if the key is still valid.
SELECT k.key_id, k.name, k.role, k.service_point_id, k.customer_phone, s.csrf_token
FROM console_sessions AS s
JOIN api_keys AS k ON k.key_id = s.key_id AND k.revoked_at IS NULL
WHERE s.session_sha256 = $1 AND s.expires_at > clock_timestamp();

-- name: delete_session
DELETE FROM console_sessions WHERE session_sha256 = $1;

-- name: delete_expired_sessions
DELETE FROM console_sessions WHERE expires_at <= clock_timestamp();

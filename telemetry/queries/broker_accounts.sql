-- Named queries of broker accounts (table: migration 0012).

-- name: upsert_account
-- Issues or replaces an account's password; a revoked account issued again is active again.
INSERT INTO broker_accounts (username, role, device_id, password_hash, issued_by)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (username) DO UPDATE
   SET role = EXCLUDED.role, device_id = EXCLUDED.device_id, password_hash = EXCLUDED.password_hash,
       issued_at = clock_timestamp(), issued_by = EXCLUDED.issued_by, revoked_at = NULL
RETURNING username, role, issued_at, issued_by;

-- name: insert_device_account_if_absent
-- For provisioners: a first password only; an active one is left alone (NULL returned).
INSERT INTO broker_accounts (username, role, device_id, password_hash, issued_by)
VALUES ($1, 'device', $1, $2, $3)
ON CONFLICT (username) DO UPDATE
   SET password_hash = EXCLUDED.password_hash, issued_at = clock_timestamp(),
       issued_by = EXCLUDED.issued_by, revoked_at = NULL
 WHERE broker_accounts.revoked_at IS NOT NULL
RETURNING username, role, issued_at, issued_by;

-- name: revoke_account
UPDATE broker_accounts SET revoked_at = coalesce(revoked_at, clock_timestamp()) WHERE username = $1
RETURNING username, revoked_at;

-- name: active_accounts
SELECT username, role, password_hash FROM broker_accounts WHERE revoked_at IS NULL ORDER BY username;

-- name: revision
-- Moves on every change to the table (a statement trigger), so polling it is one cheap read.
SELECT last_value + (CASE WHEN is_called THEN 1 ELSE 0 END) FROM broker_accounts_revision;


-- Named queries of webhook subscriptions and deliveries (tables: migration 0005).

-- name: insert_subscription
INSERT INTO webhook_subscriptions (url, secret, event_types, description)
VALUES ($1, $2, $3, $4)
RETURNING subscription_id, url, event_types, description, active, created_at, disabled_at;

-- name: list_subscriptions
-- Keyset on subscription_id; $1 after (0 for the first page), $2 limit.
SELECT subscription_id, url, event_types, description, active, created_at, disabled_at
FROM webhook_subscriptions WHERE subscription_id > $1 ORDER BY subscription_id LIMIT $2;

-- name: get_subscription
SELECT subscription_id, url, event_types, description, active, created_at, disabled_at
FROM webhook_subscriptions WHERE subscription_id = $1;

-- name: disable_subscription
-- Stops new deliveries; the pending ones are failed with a reason (they can be replayed).
WITH s AS (
    UPDATE webhook_subscriptions SET active = false, disabled_at = coalesce(disabled_at, clock_timestamp())
    WHERE subscription_id = $1
    RETURNING subscription_id
), stopped AS (
    UPDATE webhook_deliveries AS d SET status = 'failed', last_error = 'subscription disabled'
    FROM s WHERE d.subscription_id = s.subscription_id AND d.status = 'pending'
    RETURNING 1
)
SELECT (SELECT count(*) FROM s) AS found, (SELECT count(*) FROM stopped) AS stopped;

-- name: claim_due
-- Up to $1 due deliveries, each the oldest pending one of its (subscription, subject), so that a
-- ticket's events arrive in order; each is moved a lease of $2 seconds ahead and counted as an
-- attempt before it is sent. SKIP LOCKED: several workers take disjoint sets.
WITH due AS (
    SELECT d.delivery_id
    FROM webhook_deliveries AS d
    WHERE d.status = 'pending' AND d.next_attempt_at <= clock_timestamp()
      AND NOT EXISTS (
          SELECT 1 FROM webhook_deliveries AS e
          WHERE e.subscription_id = d.subscription_id AND e.subject = d.subject
            AND e.status = 'pending' AND e.delivery_id < d.delivery_id
      )
    ORDER BY d.next_attempt_at, d.delivery_id
    LIMIT $1
    FOR UPDATE OF d SKIP LOCKED
), claimed AS (
    UPDATE webhook_deliveries AS d
    SET attempts = d.attempts + 1, next_attempt_at = clock_timestamp() + make_interval(secs => $2)
    FROM due WHERE d.delivery_id = due.delivery_id
    RETURNING d.delivery_id, d.subscription_id, d.event_id, d.subject, d.event_type, d.safety, d.attempts,
              d.created_at
)
SELECT c.*, s.url, s.secret, o.payload::text AS payload_json, o.created_at AS event_time
FROM claimed AS c
JOIN webhook_subscriptions AS s USING (subscription_id)
JOIN outbox_events AS o USING (event_id)
ORDER BY c.delivery_id;

-- name: record_attempt
INSERT INTO webhook_attempts (delivery_id, attempted_at, duration_ms, status_code, error, response_excerpt)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: mark_delivered
-- Only if no other worker has taken the delivery since (its attempt number is still ours).
UPDATE webhook_deliveries
SET status = 'delivered', delivered_at = clock_timestamp(), last_status_code = $3, last_error = NULL
WHERE delivery_id = $1 AND attempts = $2 AND status = 'pending';

-- name: mark_failed
-- $4: next attempt time, or NULL to give up (status failed; a person may replay it).
UPDATE webhook_deliveries
SET status = CASE WHEN $4::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
    next_attempt_at = coalesce($4, next_attempt_at),
    last_status_code = $3,
    last_error = $5
WHERE delivery_id = $1 AND attempts = $2 AND status = 'pending';

-- name: list_deliveries
-- A subscription's delivery log, newest first (keyset on delivery_id); $2 status or NULL, $3 before
-- (NULL for the first page), $4 limit.
SELECT delivery_id, event_id, subject, event_type, safety, status, attempts, next_attempt_at,
       last_status_code, last_error, created_at, delivered_at
FROM webhook_deliveries
WHERE subscription_id = $1 AND ($2::text IS NULL OR status = $2)
  AND delivery_id < coalesce($3::bigint, 9223372036854775807)
ORDER BY delivery_id DESC
LIMIT $4;

-- name: list_attempts
SELECT attempted_at, duration_ms, status_code, error, response_excerpt
FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt_id;

-- name: replay_delivery
-- Sends a delivery again (same webhook-id), whatever its status; the subscription must be active.
UPDATE webhook_deliveries AS d
SET status = 'pending', next_attempt_at = clock_timestamp(), last_error = NULL, delivered_at = NULL
FROM webhook_subscriptions AS s
WHERE d.delivery_id = $2 AND d.subscription_id = $1 AND s.subscription_id = d.subscription_id AND s.active
RETURNING d.delivery_id, d.event_id, d.subject, d.event_type, d.safety, d.status, d.attempts, d.next_attempt_at,
          d.last_status_code, d.last_error, d.created_at, d.delivered_at;

-- name: replay_failed
-- Every failed delivery of an active subscription, again.
UPDATE webhook_deliveries AS d
SET status = 'pending', next_attempt_at = clock_timestamp(), last_error = NULL
FROM webhook_subscriptions AS s
WHERE d.subscription_id = $1 AND d.status = 'failed' AND s.subscription_id = d.subscription_id AND s.active;

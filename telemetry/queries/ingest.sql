-- Named queries of the ingest path: one batch, one transaction, set-based statements only.

-- name: create_reading_stage
-- Readings arrive by binary COPY into this per-session staging table (far cheaper to encode than one
-- array parameter per column), then move to the hypertable in one statement.
CREATE TEMP TABLE IF NOT EXISTS reading_stage (LIKE readings INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;

-- name: store_readings
-- One round trip for what the staged readings change, computed from the stage itself: they go into the
-- hypertable (redeliveries skipped), each device's newest reading key into device_state (the values
-- stay in readings; see
-- reading_json_by_key() in migration 0004; a late, older reading never replaces a newer one), and,
-- when :low is given, their time span into the rollup's invalidations: late readings in [:low, :high]
-- that an hourly refresh has covered, or may cover before this transaction commits (the last minutes
-- of an hour). (No "already covered by a pending range" shortcut: a running refresh may be about to
-- delete that range.) Answers how many readings were new.
WITH inserted AS (
    INSERT INTO readings SELECT * FROM reading_stage
    ON CONFLICT DO NOTHING
    RETURNING 1
), state AS (
    -- Each device's newest staged reading, and when it was last heard; in device order, so that
    -- concurrent gateways lock state rows alike.
    INSERT INTO device_state AS s (device_id, last_seen, last_reading_at, last_seq)
    SELECT DISTINCT ON (device_id) device_id, max(received_at) OVER (PARTITION BY device_id), ts, seq
    FROM reading_stage
    ORDER BY device_id, ts DESC, seq DESC
    ON CONFLICT (device_id) DO UPDATE SET
        last_seen = GREATEST(s.last_seen, EXCLUDED.last_seen),
        last_reading_at = GREATEST(s.last_reading_at, EXCLUDED.last_reading_at),
        last_seq = CASE WHEN s.last_reading_at IS NULL OR (EXCLUDED.last_reading_at, EXCLUDED.last_seq)
                                                           >= (s.last_reading_at, s.last_seq)
                        THEN EXCLUDED.last_seq ELSE s.last_seq END
), late AS (
    INSERT INTO rollup_invalidation (rollup, low, high)
    SELECT 'readings_hourly', :low::timestamptz, :high::timestamptz
    WHERE :low::timestamptz IS NOT NULL
      AND (:low::timestamptz < (SELECT watermark FROM rollup_watermark WHERE rollup = 'readings_hourly')
           OR :low::timestamptz < date_trunc('hour', clock_timestamp() + INTERVAL '5 minutes'))
)
SELECT count(*) FROM inserted;

-- name: insert_events
-- New events (not redeliveries) are also queued for the diagnostics engine, in device-time order.
WITH inserted AS (
    INSERT INTO events (device_id, ts, seq, received_at, code, state)
    SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::bigint[], $4::timestamptz[], $5::text[], $6::text[])
    ON CONFLICT DO NOTHING
    RETURNING device_id, ts, seq, code, state, received_at
), queued AS (
    INSERT INTO event_inbox (device_id, ts, seq, code, state, received_at)
    SELECT device_id, ts, seq, code, state, received_at FROM inserted ORDER BY device_id, ts, seq
    RETURNING 1
)
SELECT count(*) FROM queued;

-- name: notify_events
-- Delivered at commit: wakes diagnostics workers waiting on the inbox.
SELECT pg_notify('ondol_event_inbox', '');

-- name: touch_last_seen
INSERT INTO device_state AS s (device_id, last_seen)
SELECT * FROM unnest($1::text[], $2::timestamptz[])
ON CONFLICT (device_id) DO UPDATE SET last_seen = GREATEST(s.last_seen, EXCLUDED.last_seen);

-- name: upsert_faults
-- One row per (device, code): its newest event in the batch, applied only if newer than what is stored.
INSERT INTO device_faults AS f (device_id, code, active, raised_at, changed_at, seq)
SELECT d, c, a, CASE WHEN a THEN t END, t, q
FROM unnest($1::text[], $2::text[], $3::bool[], $4::timestamptz[], $5::bigint[]) AS u(d, c, a, t, q)
ON CONFLICT (device_id, code) DO UPDATE SET
    active = EXCLUDED.active,
    raised_at = CASE WHEN EXCLUDED.active AND f.active THEN f.raised_at
                     WHEN EXCLUDED.active THEN EXCLUDED.changed_at
                     ELSE f.raised_at END,
    changed_at = EXCLUDED.changed_at,
    seq = EXCLUDED.seq
WHERE (EXCLUDED.changed_at, EXCLUDED.seq) > (f.changed_at, f.seq);

-- name: upsert_status
-- Birth and last will: one row per device, the newest by receive time.
INSERT INTO device_state AS s (device_id, last_seen, connected, connected_changed_at, reported_model, firmware)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::bool[], $4::timestamptz[], $5::text[], $6::text[])
ON CONFLICT (device_id) DO UPDATE SET
    last_seen = GREATEST(s.last_seen, EXCLUDED.last_seen),
    connected = CASE WHEN s.connected_changed_at IS NULL OR EXCLUDED.connected_changed_at >= s.connected_changed_at
                     THEN EXCLUDED.connected ELSE s.connected END,
    connected_changed_at = GREATEST(s.connected_changed_at, EXCLUDED.connected_changed_at),
    reported_model = COALESCE(EXCLUDED.reported_model, s.reported_model),
    firmware = COALESCE(EXCLUDED.firmware, s.firmware);

-- name: insert_quarantine
-- One row per (topic, payload). $11 counts first deliveries among the merged messages: a broker's
-- redelivery of a message already quarantined adds no occurrence, while a new row counts at least one.
WITH input AS (
    SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::int[],
                         $8::bytea[], $9::timestamptz[], $10::timestamptz[], $11::int[])
        AS i(topic, topic_sha256, device_id, reason, detail, payload, payload_size, payload_sha256,
             first_seen, last_seen, first_deliveries)
)
INSERT INTO quarantine AS q (topic, topic_sha256, device_id, reason, detail, payload, payload_size, payload_sha256,
                             first_seen, last_seen, occurrences)
SELECT topic, topic_sha256, device_id, reason, detail, payload, payload_size, payload_sha256, first_seen, last_seen,
       greatest(1, first_deliveries)
FROM input
ON CONFLICT (topic_sha256, payload_sha256) DO UPDATE SET
    first_seen = least(q.first_seen, EXCLUDED.first_seen),
    last_seen = greatest(q.last_seen, EXCLUDED.last_seen),
    occurrences = q.occurrences + (SELECT i.first_deliveries FROM input AS i
                                   WHERE i.topic_sha256 = EXCLUDED.topic_sha256
                                     AND i.payload_sha256 = EXCLUDED.payload_sha256);

-- name: known_devices
SELECT device_id FROM devices WHERE device_id = ANY($1::text[]);

-- name: insert_command_answers
-- Devices' answers to commands, in arrival order; the commands feature's trigger on this table applies
-- each one to its command. A redelivered answer (same command, stage and code) is stored once.
INSERT INTO command_answers (device_id, command_id, stage, ac, ad, av, device_ts, received_at)
SELECT device_id, command_id, stage, ac, ad, av, device_ts, received_at
FROM unnest($1::text[], $2::uuid[], $3::text[], $4::int[], $5::text[], $6::int[], $7::timestamptz[],
            $8::timestamptz[]) WITH ORDINALITY AS a(device_id, command_id, stage, ac, ad, av, device_ts, received_at, n)
ORDER BY n
ON CONFLICT (command_id, device_id, stage, ac) DO NOTHING;

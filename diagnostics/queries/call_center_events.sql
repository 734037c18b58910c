-- Named queries of the call center's events (table outbox_events, migration 0003).

-- name: publish
INSERT INTO outbox_events (event_type, subject, payload) VALUES ($1, $2, $3::jsonb);

-- name: publish_device_offline
-- One event per device, in the order given; the database formats the times, as in every other event.
INSERT INTO outbox_events (event_type, subject, payload)
SELECT 'device.offline', 'device/' || g.device_id,
       jsonb_build_object('device_id', g.device_id, 'model', g.model, 'region', g.region,
                          'last_seen', g.last_seen, 'disconnected', g.disconnected,
                          'detected_at', g.detected_at)
FROM unnest(:device_ids::text[], :models::text[], :regions::text[], :last_seen::timestamptz[],
            :disconnected::bool[], :detected_at::timestamptz[])
         WITH ORDINALITY AS g(device_id, model, region, last_seen, disconnected, detected_at, n)
ORDER BY g.n;

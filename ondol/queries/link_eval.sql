-- Named queries of `ondol eval-link` (ondol/link_eval.py): what the gateway and the alert worker
-- would have done for a simulated case, written directly.

-- name: fault_state
-- The device's fault as the gateway keeps it (device_faults), before the engine handles the event.
INSERT INTO device_faults (device_id, code, active, raised_at, changed_at, seq) VALUES ($1, $2, $3, $4, $4, $5)
ON CONFLICT (device_id, code) DO UPDATE SET active = $3, raised_at = $4, changed_at = $4, seq = $5;

-- name: first_alert
-- The case and number of the device's first customer alert.
SELECT case_id, phone FROM customer_alerts WHERE device_id = $1 ORDER BY alert_id LIMIT 1;

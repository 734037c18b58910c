-- Predictive care's reads (migration 0013). The predictions table is written by the faults engine
-- (`diagnostics.faults.engine`: open_prediction, confirmation by the hard fault), not here.

-- name: list_predictions
SELECT prediction_id, device_id, code, family, detector, status, predicted_at, eta, confirmed_code, confirmed_at
FROM predictions ORDER BY predicted_at, prediction_id;

-- name: recent_hard_faults
-- (device, family) pairs where a device-reported code was raised since :since: a repair has probably
-- followed, so a trend spanning it says nothing new.
SELECT DISTINCT device_id, family FROM fault_cases WHERE last_raised_at >= :since AND code !~ '^A';

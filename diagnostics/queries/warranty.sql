-- name: model_warranty_years
-- The model's warranty length, or the configured default ($2) for models not listed.
SELECT coalesce((SELECT years FROM model_warranty WHERE model = $1), $2);

-- Metrics count failed webhook deliveries and customer alerts at every scrape (docs/operations.md).
-- Both tables keep every row they ever held; these partial indexes hold only the failed ones, so a
-- scrape counts those rows instead of reading the tables. (Pending rows have indexes already:
-- webhook_deliveries_due, customer_alerts_due.)
CREATE INDEX webhook_deliveries_failed ON webhook_deliveries (delivery_id) WHERE status = 'failed';
CREATE INDEX customer_alerts_failed ON customer_alerts (alert_id) WHERE status = 'failed';

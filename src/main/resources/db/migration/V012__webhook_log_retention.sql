-- Succeeded and dead deliveries are deleted once their last attempt is older than
-- webhooks.log_retention; this index finds them without reading the pending ones or the rest.
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (last_attempt_at) WHERE status IN ('succeeded', 'dead');

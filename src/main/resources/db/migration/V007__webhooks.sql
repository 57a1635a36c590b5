-- Webhook endpoints of a space. from_seq is the space's last change when the endpoint was
-- registered: it receives only changes after it. secret is the current signing secret (whsec_...);
-- previous_secret signs alongside it until previous_secret_until. busy_until marks an endpoint with
-- an attempt in flight (one at a time per endpoint, cluster-wide); circuit_until postpones its
-- deliveries after failures in a row.
CREATE TABLE webhook_endpoints (
  id uuid PRIMARY KEY,
  space_id uuid NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
  url text NOT NULL,
  events text[] NOT NULL DEFAULT '{}',
  enabled boolean NOT NULL DEFAULT true,
  disabled_reason text,
  secret text NOT NULL,
  previous_secret text,
  previous_secret_until timestamptz,
  from_seq bigint NOT NULL,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  failures_in_row integer NOT NULL DEFAULT 0,
  circuit_until timestamptz NOT NULL DEFAULT '-infinity',
  busy_until timestamptz NOT NULL DEFAULT '-infinity'
);
CREATE INDEX webhook_endpoints_space ON webhook_endpoints (space_id);

-- How far the webhook relay has turned each space's change log into deliveries. Only the node
-- holding the webhook relay's advisory lock writes here, in the transaction that adds the rows.
CREATE TABLE webhook_positions (
  space_id uuid PRIMARY KEY REFERENCES spaces (id) ON DELETE CASCADE,
  seq bigint NOT NULL
);

-- One delivery of one change to one endpoint. status: pending (due at next_attempt_at; those of a
-- disabled endpoint wait until it is enabled again), succeeded, or dead (its last attempt failed).
-- message_id is the webhook-id header, the same for every attempt and replay.
CREATE TABLE webhook_deliveries (
  id uuid PRIMARY KEY,
  endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  space_id uuid NOT NULL,
  seq bigint NOT NULL,
  kind text NOT NULL,
  message_id text NOT NULL,
  status text NOT NULL DEFAULT 'pending',
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_attempt_at timestamptz,
  last_status integer,
  last_error text,
  last_latency_ms integer,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (endpoint_id, seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, seq) WHERE status = 'pending';

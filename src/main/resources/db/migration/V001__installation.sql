-- The identity of this CloudSync installation: one row, made by the first node that starts.
-- Every node of a cluster reads the same row, so clients can tell which installation they talk to.
CREATE TABLE installation (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  id uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO installation (id) VALUES (gen_random_uuid());

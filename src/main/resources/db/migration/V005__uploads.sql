-- Resumable (tus 1.0) uploads in progress. The bytes received so far live in a part file under
-- data_dir/uploads on the node that accepted the upload; this row is the truth about how many
-- of them count, so a crash between writing bytes and recording them loses nothing that was
-- acknowledged.
CREATE TABLE uploads (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  space_id uuid NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
  parent_id uuid,
  filename text NOT NULL,
  if_match bigint,
  length bigint NOT NULL CHECK (length >= 0),
  received bigint NOT NULL DEFAULT 0 CHECK (received >= 0 AND received <= length),
  metadata text NOT NULL DEFAULT '',
  node_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX uploads_expiry ON uploads (expires_at);

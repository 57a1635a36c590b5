-- Files: the node tree of each space, file versions with their chunk manifests, the chunks and
-- who may reference them, and the per-space change log.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The last change number handed out in the space. Taking the next one updates this row, so the
-- row lock orders the writers of a space and a rolled-back change leaves no gap.
ALTER TABLE spaces ADD COLUMN next_seq bigint NOT NULL DEFAULT 0;
CREATE INDEX spaces_owner ON spaces (owner_id) WHERE deleted_at IS NULL;

CREATE TABLE nodes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  space_id uuid NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
  parent_id uuid REFERENCES nodes (id) ON DELETE CASCADE,  -- null: top level of the space
  name text NOT NULL,                                      -- NFC, validated by io.cloudsync.files.Names
  type text NOT NULL CHECK (type IN ('file', 'folder')),
  version bigint NOT NULL DEFAULT 1,                       -- bumped by every change to the node
  size bigint NOT NULL DEFAULT 0,                          -- of the current content; 0 for folders
  sha256 text,                                             -- of the current content; null for folders
  created_by uuid REFERENCES users (id) ON DELETE SET NULL,
  modified_by uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  modified_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz,                                  -- in the trash since
  trashed_with uuid,                                       -- the node whose deletion trashed this one (itself for a trash root)
  original_parent_id uuid,                                 -- where a trash root lived, for restore
  original_name text
);
-- Live names are unique per folder without regard to case: "Report.pdf" and "report.pdf" cannot
-- both live in one folder, since case-insensitive file systems of clients could not hold both.
CREATE UNIQUE INDEX nodes_live_name ON nodes (space_id, coalesce(parent_id, '00000000-0000-0000-0000-000000000000'::uuid), lower(name))
  WHERE deleted_at IS NULL;
CREATE INDEX nodes_children ON nodes (parent_id);
CREATE INDEX nodes_space ON nodes (space_id);
CREATE INDEX nodes_trash ON nodes (deleted_at) WHERE deleted_at IS NOT NULL AND trashed_with = id;
CREATE INDEX nodes_trashed_with ON nodes (trashed_with) WHERE trashed_with IS NOT NULL;
CREATE INDEX nodes_name_trgm ON nodes USING gin (lower(name) gin_trgm_ops) WHERE deleted_at IS NULL;

-- Every content a file ever had; the current one is the row with the highest version, whose
-- number is the node version the content was written at.
CREATE TABLE file_versions (
  node_id uuid NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
  version bigint NOT NULL,
  size bigint NOT NULL,
  sha256 text NOT NULL,
  chunks text[] NOT NULL,
  chunk_sizes int[] NOT NULL,
  author uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (node_id, version)
);
-- "Is this chunk still referenced / readable by this user" looks up versions by chunk.
CREATE INDEX file_versions_chunks ON file_versions USING gin (chunks);

-- Chunks referenced by at least one committed version; garbage collection works from here.
CREATE TABLE chunks (
  hash text PRIMARY KEY,
  size int NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Chunks a user uploaded: they may reference them in a delta-sync commit. Knowing a hash is not enough.
CREATE TABLE chunk_grants (
  hash text NOT NULL,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (hash, user_id)
);

CREATE TABLE changes (
  space_id uuid NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
  seq bigint NOT NULL,
  node_id uuid,                                            -- null for membership changes; nodes may be purged since
  kind text NOT NULL CHECK (kind IN ('created', 'updated', 'renamed', 'moved', 'deleted', 'restored', 'purged',
                                     'shared', 'unshared', 'conflict')),
  version bigint,
  actor uuid,
  at timestamptz NOT NULL DEFAULT now(),
  payload jsonb NOT NULL,
  PRIMARY KEY (space_id, seq)
);

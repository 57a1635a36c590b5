-- JSON documents: nodes of type 'document' whose content is a JSON object. The current content is
-- in documents (what the equality query searches), every version's content in document_versions
-- (versions list and restore, and the base a stale merge patch is compared against).

ALTER TABLE nodes DROP CONSTRAINT nodes_type_check;
ALTER TABLE nodes ADD CONSTRAINT nodes_type_check CHECK (type IN ('file', 'folder', 'document'));

-- A path_prefix query walks the folders of a subtree and then takes the documents in them; without
-- these the walk reads every node of every space (PostgreSQL hash-joins the recursion).
CREATE INDEX nodes_live_folders ON nodes (parent_id) WHERE type = 'folder' AND deleted_at IS NULL;
CREATE INDEX nodes_live_documents ON nodes (parent_id) WHERE type = 'document' AND deleted_at IS NULL;

CREATE TABLE documents (
  node_id uuid PRIMARY KEY REFERENCES nodes (id) ON DELETE CASCADE,
  space_id uuid NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
  content jsonb NOT NULL CHECK (jsonb_typeof(content) = 'object')
);
-- GET .../docs?where=field=value is "content @> {field: value}": jsonb_path_ops indexes exactly
-- that containment, and is smaller and faster for it than the default jsonb_ops.
CREATE INDEX documents_content ON documents USING gin (content jsonb_path_ops);
-- Paging a space's documents in node-id order, and the query when a value is too common for the GIN index to pay.
CREATE INDEX documents_space ON documents (space_id, node_id);

-- Each content a document had; the row's version is the node version the content was written at.
-- The content as of node version v is the row with the highest version not above v.
CREATE TABLE document_versions (
  node_id uuid NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
  version bigint NOT NULL,
  size bigint NOT NULL,
  content jsonb NOT NULL,
  author uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (node_id, version)
);

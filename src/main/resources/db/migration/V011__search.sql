-- Name search at scale. The trigram index also holds the space, so a search scans, space by
-- space, just the caller's nodes with the text, instead of collecting every node with the text
-- in any space and then dropping the ones the caller cannot read (btree_gin makes uuid a GIN key;
-- like pg_trgm it is a trusted extension, creatable by the database owner).
-- Queries too short for trigrams match names by prefix, walking the second index in the order
-- results are listed, so a page costs its own rows however many names share the prefix.
CREATE EXTENSION IF NOT EXISTS btree_gin;
DROP INDEX IF EXISTS nodes_name_trgm;
-- fastupdate off: new names go straight into the index instead of a pending list that every
-- search scans in full until a vacuum merges it (tens of milliseconds after a burst of uploads).
CREATE INDEX nodes_search_trgm ON nodes USING gin (space_id, lower(name) gin_trgm_ops) WITH (fastupdate = off)
  WHERE deleted_at IS NULL;
CREATE INDEX nodes_search_name ON nodes (space_id, (lower(name) COLLATE "C"), id) WHERE deleted_at IS NULL;

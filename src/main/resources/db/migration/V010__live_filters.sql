-- Filtered and snapshot live subscriptions rebuild a space's tree as of a cursor from the log
-- itself (the newest change of each node at or before it) and look up where a node was before a
-- move. Both read the changes of one node, newest first.
CREATE INDEX changes_node ON changes (space_id, node_id, seq DESC) WHERE node_id IS NOT NULL;
-- The folder tree alone, so rebuilding it reads the folders' changes and not every file's.
CREATE INDEX changes_folder ON changes (space_id, node_id, seq DESC) WHERE payload->>'type' = 'folder';

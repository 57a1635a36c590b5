-- How far the Kafka change feed has relayed each space's change log: every change with a seq up to
-- this one has been acknowledged by Kafka. A space without a row has had nothing relayed yet. Only
-- the node holding the change feed's advisory lock writes here.
CREATE TABLE changefeed_positions (
  space_id uuid PRIMARY KEY REFERENCES spaces (id) ON DELETE CASCADE,
  seq bigint NOT NULL
);

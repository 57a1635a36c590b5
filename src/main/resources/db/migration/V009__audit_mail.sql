-- The installation-wide audit trail, e-mail notifications, and webhook endpoints that fail for days.

-- One row per auditable event: sign-ins (and failed ones), MFA changes, token revocations, share
-- changes, webhook endpoint changes, account changes by admins. Append-only: the triggers below refuse
-- UPDATE, DELETE and TRUNCATE, so neither CloudSync nor anyone using its database role rewrites history.
-- No foreign keys: an entry outlives the user, space or endpoint it names.
CREATE TABLE audit_events (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  kind text NOT NULL,
  actor uuid,                                   -- who did it; null when unknown (a failed sign-in for no account)
  space_id uuid,
  target text,                                  -- what it was done to: a user, endpoint or sign-in id
  ip text,
  details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_at ON audit_events (at, id);
CREATE INDEX audit_events_actor ON audit_events (actor, id);
CREATE INDEX audit_events_kind ON audit_events (kind, id);

CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % is refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();

-- Share changes reach the audit trail in the transaction that writes them to the change log, whatever
-- code path wrote them: space.shared (added, or role changed) and space.unshared.
CREATE FUNCTION audit_share_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit_events (at, kind, actor, space_id, target, details)
  VALUES (NEW.at, 'space.' || NEW.kind, NEW.actor, NEW.space_id, NEW.payload ->> 'user_id',
          jsonb_build_object('seq', NEW.seq, 'member', NEW.payload));
  RETURN NULL;
END
$$;
CREATE TRIGGER changes_audit_shares AFTER INSERT ON changes
  FOR EACH ROW WHEN (NEW.kind IN ('shared', 'unshared')) EXECUTE FUNCTION audit_share_change();

CREATE INDEX changes_space_at ON changes (space_id, at);

-- failing_since: when the current run of failed attempts began (null after a success); an endpoint
-- failing for webhooks.disable_after is disabled. secret and previous_secret now hold ciphertext
-- ("enc1:<key id>:<base64 nonce+ciphertext>") once the webhooks role has encrypted them at start-up.
ALTER TABLE webhook_endpoints ADD COLUMN failing_since timestamptz;

-- E-mail: who wants mail about new files in spaces shared with them.
CREATE TABLE notification_preferences (
  user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  new_files boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- How far the notification relay has read each space's change log. Only changes made since e-mail was
-- first turned on (notification_state.since) are told, so turning mail on does not mail the past.
CREATE TABLE notification_positions (
  space_id uuid PRIMARY KEY REFERENCES spaces (id) ON DELETE CASCADE,
  seq bigint NOT NULL
);
CREATE TABLE notification_state (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  since timestamptz NOT NULL DEFAULT now()
);

-- New files waiting to be told to one user about one space, in one mail once due_at has come.
CREATE TABLE notification_digests (
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  space_id uuid NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
  files integer NOT NULL,
  names text[] NOT NULL,                        -- the first few file names, for the mail's body
  due_at timestamptz NOT NULL,
  PRIMARY KEY (user_id, space_id)
);
CREATE INDEX notification_digests_due ON notification_digests (due_at);

-- Mails to send. A node claims a row (claimed_until) before sending it, so one node sends each; a
-- sent row is deleted; a row whose attempts ran out stays with status 'failed' and its last error.
CREATE TABLE mail_outbox (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind text NOT NULL,
  recipient text NOT NULL,
  subject text NOT NULL,
  body text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  claimed_until timestamptz NOT NULL DEFAULT '-infinity',
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE status = 'pending';

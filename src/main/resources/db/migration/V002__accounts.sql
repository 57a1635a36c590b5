-- Accounts, sign-in sessions (refresh-token families), token signing keys, external identities,
-- and the space membership that every authorization decision reads.

CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL UNIQUE,                 -- normalized: trimmed, NFC, lower-case
  display_name text NOT NULL,
  password_hash text,                         -- PHC string; null for accounts made by OAuth sign-in
  role text NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user')),
  disabled_at timestamptz,
  mfa_secret text,                            -- base32 TOTP secret, set by setup
  mfa_enabled boolean NOT NULL DEFAULT false,
  mfa_last_step bigint NOT NULL DEFAULT 0,    -- last accepted TOTP time step: no replay inside a window
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE recovery_codes (
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash text NOT NULL,
  used_at timestamptz,
  PRIMARY KEY (user_id, code_hash)
);

-- One family per sign-in; every refresh rotates the token inside it.
CREATE TABLE token_families (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  revoked_reason text
);
CREATE INDEX token_families_user ON token_families (user_id);

CREATE TABLE refresh_tokens (
  token_hash text PRIMARY KEY,                -- SHA-256 of the opaque token; the token itself is never stored
  family_id uuid NOT NULL REFERENCES token_families (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  used_at timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE signing_keys (
  kid text PRIMARY KEY,
  algorithm text NOT NULL,
  private_pem text NOT NULL,
  public_jwk jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz                      -- no longer signs; verifies until its tokens expire
);

CREATE TABLE user_identities (
  provider text NOT NULL,
  subject text NOT NULL,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  email text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, subject)
);

-- An OAuth sign-in in progress: bound to the browser that started it by a cookie whose hash is kept.
CREATE TABLE oauth_states (
  state_hash text PRIMARY KEY,
  provider text NOT NULL,
  code_verifier text NOT NULL,
  nonce text NOT NULL,
  browser_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE spaces (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  owner_id uuid NOT NULL REFERENCES users (id),
  conflict_policy text NOT NULL DEFAULT 'manual' CHECK (conflict_policy IN ('manual', 'last_writer_wins')),
  created_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);

CREATE TABLE space_members (
  space_id uuid NOT NULL REFERENCES spaces (id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
  added_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (space_id, user_id)
);
CREATE INDEX space_members_user ON space_members (user_id);

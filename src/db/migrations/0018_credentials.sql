-- Credentials (issue 16, items 4-6 and 18; docs/ARCHITECTURE.md "Identity, four eyes and audit").

-- A password an admin set for someone else is temporary: the user must choose its own at the next
-- login before anything else works, and the temporary one stops working after its expiry.
ALTER TABLE users ADD COLUMN password_change_required boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN password_expires_at timestamptz;

-- An admin's reset of another user's password is a four-eyes action: the new (temporary)
-- password's hash waits here, never in the proposal, until a second admin approves.
CREATE TABLE password_resets (
  id            int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id       int8 NOT NULL REFERENCES users (id),
  password_hash text NOT NULL,
  proposed_by   int8 NOT NULL REFERENCES users (id),
  created_at    timestamptz NOT NULL,
  applied_at    timestamptz,
  CHECK (proposed_by <> user_id)
);

-- Failed logins are counted per username and client address together (OWASP's advice): someone who
-- knows a username can no longer lock its owner out from everywhere, only itself from its address.
CREATE TABLE login_throttle (
  username      text NOT NULL,
  ip            text NOT NULL,
  failures      int4 NOT NULL DEFAULT 0 CHECK (failures >= 0),
  locked_until  timestamptz,
  updated_at    timestamptz NOT NULL,
  PRIMARY KEY (username, ip)
);

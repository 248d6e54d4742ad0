-- Sanctions and AML screening: the lists the bank imports, the bitcoin addresses a borrower uses,
-- and the hits screening finds (each blocks until two risk officers clear it).
-- See src/compliance/screening-lists.ts and docs/ARCHITECTURE.md, "Knowing the miner".

CREATE TABLE screening_lists (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- The list's name: the latest import of a name replaces the earlier ones in screening.
  name         text NOT NULL CHECK (name ~ '^[a-z0-9._-]{1,64}$'),
  format       text NOT NULL CHECK (format IN ('zalog_csv', 'ofac_sdn_csv')),
  -- The publisher's version (a date or a number), as the importer states it.
  version      text NOT NULL CHECK (length(version) BETWEEN 1 AND 100),
  sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  entry_count  integer NOT NULL CHECK (entry_count > 0),
  imported_at  timestamptz NOT NULL,
  imported_by  bigint NOT NULL REFERENCES users (id),
  UNIQUE (name, sha256)
);

CREATE TABLE screening_entries (
  list_id  bigint NOT NULL REFERENCES screening_lists (id),
  kind     text NOT NULL CHECK (kind IN ('name', 'inn', 'btc_address')),
  -- Normalised (screening-lists.ts): what screening compares.
  value    text NOT NULL,
  display  text NOT NULL,
  program  text NOT NULL,
  PRIMARY KEY (list_id, kind, value)
);
CREATE INDEX screening_entries_value ON screening_entries (kind, value);

-- Addresses a borrower reported to the FNS, pledges from or is paid to: screened like its name.
CREATE TABLE borrower_btc_addresses (
  borrower_id  bigint NOT NULL REFERENCES borrowers (id),
  address      text NOT NULL,
  purpose      text NOT NULL CHECK (purpose IN ('reported', 'pledge', 'payout')),
  recorded_by  bigint NOT NULL REFERENCES users (id),
  recorded_at  timestamptz NOT NULL,
  PRIMARY KEY (borrower_id, address)
);
CREATE INDEX borrower_btc_addresses_address ON borrower_btc_addresses (address);

-- Normalised name per borrower, kept beside the record so screening is one join.
ALTER TABLE borrowers ADD COLUMN screening_name text;

CREATE TABLE screening_hits (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  borrower_id   bigint NOT NULL REFERENCES borrowers (id),
  field         text NOT NULL CHECK (field IN ('name', 'inn', 'btc_address')),
  -- The borrower's value that matched (normalised), and the list entry it matched.
  matched       text NOT NULL,
  list_name     text NOT NULL,
  list_id       bigint NOT NULL REFERENCES screening_lists (id),
  entry_display text NOT NULL,
  program       text NOT NULL,
  found_at      timestamptz NOT NULL,
  status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'cleared')),
  cleared_at    timestamptz,
  cleared_by    bigint REFERENCES users (id),
  cleared_approval_id bigint REFERENCES approvals (id),
  clear_reason  text,
  -- A hit once found (and perhaps cleared as a false positive) is not raised again by a new
  -- version of the same list.
  UNIQUE (borrower_id, field, matched, list_name),
  CHECK ((status = 'cleared') = (cleared_at IS NOT NULL AND cleared_by IS NOT NULL AND cleared_approval_id IS NOT NULL AND clear_reason IS NOT NULL))
);
CREATE INDEX screening_hits_open ON screening_hits (borrower_id) WHERE status = 'open';

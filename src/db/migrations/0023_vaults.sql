-- Collateral on chain (issue 18): per-loan vaults from output descriptors, and the chain watcher's
-- state. zalog holds public keys only: a vault is its descriptor (keys with their origins), never a
-- private key.

CREATE TABLE vaults (
  id              int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  loan_id         int8 NOT NULL UNIQUE REFERENCES loans (id),
  -- 'bank': M-of-N over the bank's keys; 'collaborative': 2-of-3 borrower, bank, key agent.
  mode            text NOT NULL CHECK (mode IN ('bank', 'collaborative')),
  network         text NOT NULL CHECK (network IN ('mainnet', 'testnet', 'signet', 'regtest')),
  -- The descriptor with its BIP-380 checksum, ranged over the loan's own address chain.
  descriptor      text NOT NULL UNIQUE CHECK (descriptor ~ '^wsh\(.*#[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{8}$'),
  chain_index     int4 NOT NULL CHECK (chain_index >= 0),
  -- The vault's opaque reference in the public proof of collateral (no loan, no name).
  proof_ref       text NOT NULL UNIQUE CHECK (proof_ref ~ '^V-[0-9a-f]{16}$'),
  -- Confirmations before a deposit counts as collateral (the product's setting when the vault was made).
  confirmations   int4 NOT NULL CHECK (confirmations BETWEEN 1 AND 100),
  -- A reorganisation deeper than the confirmations took back a counted coin: staff must look.
  frozen_at       timestamptz,
  frozen_reason   text,
  created_at      timestamptz NOT NULL
);

-- The addresses the watcher looks for: each vault's first addresses, derived when the vault is made.
CREATE TABLE vault_addresses (
  vault_id  int8 NOT NULL REFERENCES vaults (id),
  address_index int4 NOT NULL CHECK (address_index >= 0),
  address   text NOT NULL UNIQUE,
  -- The output script, hex (P2WSH: 0020 and the witness script's SHA-256).
  script    text NOT NULL UNIQUE CHECK (script ~ '^0020[0-9a-f]{64}$'),
  PRIMARY KEY (vault_id, address_index)
);

-- The blocks the watcher has processed, on the chain it believes best. A reorganisation deletes the
-- rows above the fork (and undoes what they did to coins) before the new branch is processed.
CREATE TABLE chain_blocks (
  height         int4 PRIMARY KEY CHECK (height >= 0),
  hash           text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$'),
  previous_hash  text NOT NULL CHECK (previous_hash ~ '^[0-9a-f]{64}$'),
  transactions   int4 NOT NULL,
  processed_at   timestamptz NOT NULL
);

-- Every coin paid to a vault address, once: (txid, vout) is the coin. Its block is null while it is
-- in no block of the best chain (taken back by a reorganisation); it counts as collateral once it
-- has the vault's confirmations (counted_at), and never twice.
CREATE TABLE vault_coins (
  txid           text NOT NULL CHECK (txid ~ '^[0-9a-f]{64}$'),
  vout           int4 NOT NULL CHECK (vout >= 0),
  vault_id       int8 NOT NULL REFERENCES vaults (id),
  address_index  int4 NOT NULL,
  sats           int8 NOT NULL CHECK (sats BETWEEN 1 AND 2100000000000000),
  block_height   int4,
  block_hash     text,
  first_seen_at  timestamptz NOT NULL,
  counted_at     timestamptz,
  counted_height int4,
  spent_txid     text,
  spent_height   int4,
  PRIMARY KEY (txid, vout),
  CHECK ((block_height IS NULL) = (block_hash IS NULL)),
  CHECK (counted_at IS NULL OR counted_height IS NOT NULL)
);
CREATE INDEX vault_coins_vault ON vault_coins (vault_id);
CREATE INDEX vault_coins_block ON vault_coins (block_height) WHERE block_height IS NOT NULL;
CREATE INDEX vault_coins_waiting ON vault_coins (block_height) WHERE counted_at IS NULL AND block_height IS NOT NULL;
CREATE INDEX vault_coins_spent ON vault_coins (spent_height) WHERE spent_height IS NOT NULL;

-- What the watcher saw that staff must look at (a deep reorganisation above all), kept.
CREATE TABLE vault_alerts (
  id        int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  vault_id  int8 REFERENCES vaults (id),
  kind      text NOT NULL CHECK (kind IN ('deep_reorg', 'unexpected_spend')),
  details   jsonb NOT NULL,
  at        timestamptz NOT NULL
);

-- A coin that reaches its vault's confirmations is booked as a collateral position of the vault's
-- loan (and on the BTC memo accounts); a deep reorganisation that takes it back reverses the
-- booking (a reversal entry; the position is marked 'reversed', never deleted).
ALTER TABLE collateral_positions DROP CONSTRAINT collateral_positions_state_check;
ALTER TABLE collateral_positions ADD CONSTRAINT collateral_positions_state_check CHECK (state IN ('pending', 'confirmed', 'pledged', 'released', 'liquidated', 'reversed'));
ALTER TABLE vault_coins ADD COLUMN position_id int8 REFERENCES collateral_positions (id);

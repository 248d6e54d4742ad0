-- Spending vaults by PSBT (issue 18): releases after repayment, releases of excess collateral, and
-- liquidations to the trading desk. zalog builds the unsigned PSBT, collects the signers' PSBTs,
-- checks and finalises them, broadcasts, and books the spend once it has the vault's confirmations.

-- The paying transaction of each coin (hex), kept when the watcher sees it: a PSBT spending the
-- coin carries it whole (non_witness_utxo), as hardware signers ask for segwit v0 inputs.
ALTER TABLE vault_coins ADD COLUMN tx_hex text;
-- A deposit seen in the backend's mempool before any block held it (shown unconfirmed, never
-- counted); forgotten if it leaves the mempool without a block (replaced or evicted).
ALTER TABLE vault_coins ADD COLUMN in_mempool boolean NOT NULL DEFAULT false;

-- Where a repaid loan's collateral goes: the address the borrower gave (and only the borrower can
-- give), checked for the vault's network.
ALTER TABLE vaults ADD COLUMN release_address text;
ALTER TABLE vaults ADD COLUMN release_address_at timestamptz;

CREATE TABLE vault_spends (
  id              int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  vault_id        int8 NOT NULL REFERENCES vaults (id),
  -- 'release': everything to the borrower after repayment; 'excess': an amount to the borrower
  -- while the loan lives (the LTV after it at most the product's target); 'liquidation': the
  -- amount a liquidation sells, to the trading desk.
  purpose         text NOT NULL CHECK (purpose IN ('release', 'excess', 'liquidation')),
  liquidation_id  int8 REFERENCES liquidations (id),
  -- signing: waiting for signatures; finalised: enough valid signatures, the transaction made and
  -- approved for broadcast; broadcast: the backend took it (or a block holds it); confirmed:
  -- booked at the vault's confirmations; cancelled: abandoned before it was finalised.
  state           text NOT NULL CHECK (state IN ('signing', 'finalised', 'broadcast', 'confirmed', 'cancelled')),
  to_address      text NOT NULL,
  sats            int8 NOT NULL CHECK (sats > 0),
  change_sats     int8 NOT NULL CHECK (change_sats >= 0),
  fee_sats        int8 NOT NULL CHECK (fee_sats > 0),
  -- sat per 1,000 vbytes (an integer, as Bitcoin Core counts fee rates).
  fee_rate_kvb    int4 NOT NULL CHECK (fee_rate_kvb > 0),
  vsize           int4 NOT NULL,
  psbt            text NOT NULL,
  unsigned_txid   text NOT NULL CHECK (unsigned_txid ~ '^[0-9a-f]{64}$'),
  inputs          jsonb NOT NULL,
  outputs         jsonb NOT NULL,
  txid            text UNIQUE CHECK (txid ~ '^[0-9a-f]{64}$'),
  tx_hex          text,
  approval_id     int8,
  created_at      timestamptz NOT NULL,
  finalised_at    timestamptz,
  broadcast_at    timestamptz,
  -- The backend's last refusal of the broadcast (kept until it takes it).
  broadcast_error text,
  confirmed_at    timestamptz,
  confirmed_height int4,
  cancelled_at    timestamptz,
  CHECK ((state IN ('signing', 'cancelled')) OR (txid IS NOT NULL AND tx_hex IS NOT NULL)),
  CHECK ((purpose = 'liquidation') = (liquidation_id IS NOT NULL))
);
-- A cancelled spend's transaction may be built again (the same coins, outputs and fee).
CREATE UNIQUE INDEX vault_spends_unsigned_txid ON vault_spends (unsigned_txid) WHERE state <> 'cancelled';
-- One spend in flight per vault: its coins are not offered to a second one.
CREATE UNIQUE INDEX vault_spends_open ON vault_spends (vault_id) WHERE state IN ('signing', 'finalised', 'broadcast');

-- Each signed PSBT a signer sent back, kept as sent, with the vault keys whose valid signatures it carried.
CREATE TABLE vault_spend_signatures (
  id          int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  spend_id    int8 NOT NULL REFERENCES vault_spends (id),
  psbt        text NOT NULL,
  signers     jsonb NOT NULL,
  uploaded_by int8 NOT NULL REFERENCES users (id),
  uploaded_at timestamptz NOT NULL
);
CREATE INDEX vault_spend_signatures_spend ON vault_spend_signatures (spend_id);

-- A coin a confirmed spend consumed: its position is closed ('released' to the borrower, or
-- 'spent' when the coins went to the desk and a desk position carries the BTC until the sale).
ALTER TABLE collateral_positions DROP CONSTRAINT collateral_positions_state_check;
ALTER TABLE collateral_positions ADD CONSTRAINT collateral_positions_state_check CHECK (state IN ('pending', 'confirmed', 'pledged', 'released', 'liquidated', 'reversed', 'spent'));
ALTER TABLE collateral_positions ADD COLUMN vault_spend_id int8 REFERENCES vault_spends (id);
CREATE INDEX vault_coins_spent_txid ON vault_coins (spent_txid) WHERE spent_txid IS NOT NULL;

-- Who approves a vault spend (building its PSBT) and its finalisation for broadcast: a second
-- treasurer up to 10 BTC, a risk officer above (as custodial releases).
INSERT INTO approval_limits (action_type, currency, approver_role, up_to_minor) VALUES
  ('vault.spend',          'BTC', 'treasury',     1000000000),
  ('vault.spend',          'BTC', 'risk_officer', NULL),
  ('vault.spend.finalise', 'BTC', 'treasury',     1000000000),
  ('vault.spend.finalise', 'BTC', 'risk_officer', NULL);

-- Where each deposit came from: the addresses its transaction's inputs spent from (src/vaults/
-- inputs.ts). They are recorded as the borrower's pledge addresses and screened; a coin with an
-- input address under an open screening hit is held (not counted) until compliance clears it.
ALTER TABLE vault_coins ADD COLUMN input_addresses text[] NOT NULL DEFAULT '{}';

-- The borrower's vault key, and its proof: the xpub given as the borrower's when the vault was
-- made, and when the borrower signed the vault's key challenge with it (src/vaults/key-proof.ts;
-- a collaborative vault's loan is disbursed only after). The signed PSBT is kept as evidence.
ALTER TABLE vaults ADD COLUMN borrower_xpub text;
ALTER TABLE vaults ADD COLUMN borrower_key_proven_at timestamptz;
ALTER TABLE vaults ADD COLUMN borrower_key_proof text;

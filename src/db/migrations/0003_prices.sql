-- The price of the collateral: every quote, every cycle's decision, imported history, manual
-- prices. See docs/ARCHITECTURE.md, "Prices".

-- One row per price cycle: what was accepted (or why not) and what consumers were told to use.
-- `stream` separates the live feed from replays of history (demos, tests, backtests).
CREATE TABLE price_cycles (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  stream            text NOT NULL DEFAULT 'live' CHECK (stream ~ '^(live|replay:[A-Za-z0-9._-]{1,64})$'),
  at                timestamptz NOT NULL,
  -- The price this cycle accepted from the feed, kopecks per BTC; NULL without a quorum.
  accepted_kopecks  bigint CHECK (accepted_kopecks > 0),
  -- The price consumers should use after this cycle (manual, or the last accepted); NULL before any.
  published_kopecks bigint CHECK (published_kopecks > 0),
  status            text NOT NULL CHECK (status IN ('normal', 'degraded', 'manual')),
  reasons           text[] NOT NULL DEFAULT '{}',
  -- The USD/RUB rate used to cross USD quotes (Bank of Russia), exact.
  usd_rub           numeric,
  -- Every candidate with its verdict (used / stale / outlier), and what else explains the cycle.
  inputs            jsonb NOT NULL,
  detail            jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX price_cycles_stream_at ON price_cycles (stream, at);

-- Every quote every source gave, exactly as received (a decimal), with the cycle that used it.
CREATE TABLE price_quotes (
  cycle_id    bigint NOT NULL REFERENCES price_cycles (id),
  source      text NOT NULL,
  pair        text NOT NULL CHECK (pair IN ('BTC/USD', 'BTC/USDT', 'BTC/RUB', 'USD/RUB')),
  price       numeric NOT NULL CHECK (price > 0),
  observed_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL
);
CREATE INDEX price_quotes_cycle ON price_quotes (cycle_id);
CREATE INDEX price_quotes_source_time ON price_quotes (source, observed_at);

-- Per-source health: the last success and failure and why.
CREATE TABLE price_source_health (
  source               text PRIMARY KEY,
  pair                 text NOT NULL,
  healthy              boolean NOT NULL,
  last_ok_at           timestamptz,
  last_error_at        timestamptz,
  last_error           text,
  consecutive_failures integer NOT NULL DEFAULT 0,
  updated_at           timestamptz NOT NULL
);

-- Imported history: OHLC bars of a pair from a source (an exchange's candles, the Bank of
-- Russia's daily rate as open = high = low = close), exact decimals.
CREATE TABLE market_history (
  source           text NOT NULL CHECK (length(source) BETWEEN 1 AND 64),
  pair             text NOT NULL CHECK (pair IN ('BTC/USD', 'BTC/USDT', 'BTC/RUB', 'USD/RUB')),
  interval_seconds integer NOT NULL CHECK (interval_seconds > 0),
  bucket_start     timestamptz NOT NULL,
  open             numeric NOT NULL CHECK (open > 0),
  high             numeric NOT NULL CHECK (high > 0),
  low              numeric NOT NULL CHECK (low > 0),
  close            numeric NOT NULL CHECK (close > 0),
  imported_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, pair, interval_seconds, bucket_start),
  CHECK (low <= open AND low <= close AND high >= open AND high >= close)
);

-- Manual prices set through four eyes, for a bounded time; and confirmations after sharp moves.
CREATE TABLE price_manual (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  price_kopecks bigint NOT NULL CHECK (price_kopecks > 0),
  valid_from   timestamptz NOT NULL,
  valid_until  timestamptz NOT NULL,
  reason       text NOT NULL,
  approval_id  bigint NOT NULL REFERENCES approvals (id),
  ended_at     timestamptz,
  CHECK (valid_until > valid_from)
);

-- A risk officer's confirmation of the feed price after a sharp move: the move stops degrading.
CREATE TABLE price_confirmations (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at            timestamptz NOT NULL,
  user_id       bigint NOT NULL REFERENCES users (id),
  cycle_id      bigint NOT NULL REFERENCES price_cycles (id),
  price_kopecks bigint NOT NULL CHECK (price_kopecks > 0),
  reason        text NOT NULL
);

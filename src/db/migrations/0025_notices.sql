-- Issue 19: notices a miner can read, where it chose, and staff told of those that could not be.

-- Each user's choices: the language of its letters and the channels it wants (the bank's webhook
-- is set by an officer, not here).
CREATE TABLE notice_preferences (
  user_id            int8 PRIMARY KEY REFERENCES users (id),
  language           text NOT NULL DEFAULT 'ru' CHECK (language IN ('ru', 'en')),
  email              boolean NOT NULL DEFAULT true,
  telegram           boolean NOT NULL DEFAULT true,
  updated_at         timestamptz NOT NULL
);

-- A user's Telegram chat, linked by a one-time code the user sent to the bank's bot.
CREATE TABLE telegram_links (
  user_id    int8 PRIMARY KEY REFERENCES users (id),
  chat_id    int8 NOT NULL UNIQUE,
  username   text,
  linked_at  timestamptz NOT NULL
);

-- One-time codes: shown to the signed-in user, sent by it to the bot (/start CODE), used once.
CREATE TABLE telegram_link_codes (
  code        text PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9_-]{16,64}$'),
  user_id     int8 NOT NULL REFERENCES users (id),
  created_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  chat_id     int8
);
CREATE INDEX telegram_link_codes_user ON telegram_link_codes (user_id);

-- The bot's place in its update stream (getUpdates offset): one row.
CREATE TABLE telegram_state (
  id             int4 PRIMARY KEY CHECK (id = 1),
  update_offset  int8 NOT NULL
);

-- The risk outbox gains Telegram, and 'expired': a call's notice still unsent at the call's
-- deadline is not sent late; staff see it in their inbox instead.
ALTER TABLE risk_outbox DROP CONSTRAINT risk_outbox_channel_check;
ALTER TABLE risk_outbox ADD CONSTRAINT risk_outbox_channel_check CHECK (channel IN ('webhook', 'email', 'telegram'));
ALTER TABLE risk_outbox DROP CONSTRAINT risk_outbox_status_check;
ALTER TABLE risk_outbox ADD CONSTRAINT risk_outbox_status_check CHECK (status IN ('pending', 'delivered', 'dead', 'skipped', 'expired'));
-- The inbox's list of notices that did not reach the borrower.
CREATE INDEX risk_outbox_undelivered ON risk_outbox (id) WHERE status IN ('dead', 'expired');

import { randomBytes } from 'node:crypto';
import type { Database, Queryable } from '../db/database.js';
import { systemUser } from '../identity/identity-repository.js';
import { appendAudit } from '../audit/audit-repository.js';
import type { TelegramBot, TelegramUpdate } from './telegram.js';

/**
 * Linking a miner's Telegram chat to its account: the signed-in user asks the portal for a
 * one-time code (valid 15 minutes), opens the bank's bot with it (t.me/<bot>?start=<code>, which
 * sends "/start <code>"), and the bot's poller links the chat that sent it. The code proves the
 * chat belongs to whoever holds the session; the chat id never comes from the user. Handling an
 * update twice (a crash before the offset is stored) links the same chat again: harmless.
 */

export const LINK_CODE_TTL_MS = 15 * 60_000;

export async function issueLinkCode(db: Queryable, userId: bigint, now: Date): Promise<{ code: string; expiresAt: Date }> {
  const code = randomBytes(18).toString('base64url');
  const expiresAt = new Date(now.getTime() + LINK_CODE_TTL_MS);
  await db.query('INSERT INTO telegram_link_codes (code, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)', [code, userId, now, expiresAt]);
  return { code, expiresAt };
}

const REPLIES = {
  linked: { ru: 'Готово: уведомления банка по вашим кредитам будут приходить в этот чат. Отключить их можно в личном кабинете.', en: 'Done: the bank\'s notices on your loans will come to this chat. You can turn them off in the portal.' },
  unknown: { ru: 'Код не подошёл или устарел. Получите новый в личном кабинете: «Уведомления» → «Подключить Telegram».', en: 'That code is unknown or expired. Get a new one in the portal: Notices → Link Telegram.' },
  hello: { ru: 'Это бот банка для уведомлений по кредитам под залог BTC. Подключите его в личном кабинете: «Уведомления» → «Подключить Telegram».', en: 'This is the bank\'s bot for notices on BTC-backed loans. Link it in the portal: Notices → Link Telegram.' },
} as const;

/** Handles one update: a "/start CODE" links the chat; anything else gets a pointer to the portal. Returns the reply. */
export async function handleUpdate(db: Database, update: TelegramUpdate, now: Date): Promise<{ chatId: number; reply: string } | undefined> {
  const message = update.message;
  if (message === undefined || message.chat.type !== 'private') return undefined;
  const match = /^\/start(?:@\w+)?\s+([A-Za-z0-9_-]{16,64})\s*$/.exec(message.text ?? '');
  if (match === null) return { chatId: message.chat.id, reply: `${REPLIES.hello.ru}\n\n${REPLIES.hello.en}` };
  const code = match[1]!;
  return db.transaction(async (tx) => {
    const [row] = await tx.query<{ user_id: bigint; expires_at: Date; used_at: Date | null; chat_id: bigint | null; language: string | null }>(
      `SELECT c.user_id, c.expires_at, c.used_at, c.chat_id, p.language FROM telegram_link_codes c LEFT JOIN notice_preferences p ON p.user_id = c.user_id WHERE c.code = $1 FOR UPDATE OF c`, [code]);
    const again = row !== undefined && row.used_at !== null && row.chat_id === BigInt(message.chat.id);
    if (row === undefined || (!again && (row.used_at !== null || row.expires_at <= now))) return { chatId: message.chat.id, reply: `${REPLIES.unknown.ru}\n\n${REPLIES.unknown.en}` };
    const lang = row.language === 'en' ? 'en' : 'ru';
    if (!again) {
      // A chat belongs to one user: linking it here unlinks it from anyone else.
      await tx.query('DELETE FROM telegram_links WHERE chat_id = $1 AND user_id <> $2', [message.chat.id, row.user_id]);
      await tx.query(`INSERT INTO telegram_links (user_id, chat_id, username, linked_at) VALUES ($1, $2, $3, $4)
                      ON CONFLICT (user_id) DO UPDATE SET chat_id = EXCLUDED.chat_id, username = EXCLUDED.username, linked_at = EXCLUDED.linked_at`,
        [row.user_id, message.chat.id, message.from?.username ?? null, now]);
      await tx.query('UPDATE telegram_link_codes SET used_at = $2, chat_id = $3 WHERE code = $1', [code, now, message.chat.id]);
      const system = await systemUser(tx);
      await appendAudit(tx, { actorUserId: system.id, actor: system.username, action: 'notices.telegram.link', target: `user:${row.user_id}`, outcome: 'ok', details: { chatId: String(message.chat.id), username: message.from?.username ?? null } }, now);
    }
    return { chatId: message.chat.id, reply: REPLIES.linked[lang] };
  });
}

/**
 * One round of the bot: the updates after the stored offset, each handled and answered, then the
 * offset moved past them. Long polling is left to the caller's schedule (timeout 0: a job's round
 * never holds a connection open).
 */
export async function pollTelegram(db: Database, bot: TelegramBot, now: () => Date): Promise<{ updates: number; linked: number }> {
  const [state] = await db.query<{ update_offset: bigint }>('SELECT update_offset FROM telegram_state WHERE id = 1');
  const offset = Number(state?.update_offset ?? 0n);
  const updates = await bot.getUpdates(offset, 0);
  let linked = 0;
  for (const update of updates) {
    const outcome = await handleUpdate(db, update, now());
    if (outcome !== undefined) {
      if (outcome.reply.startsWith(REPLIES.linked.ru) || outcome.reply.startsWith(REPLIES.linked.en)) linked += 1;
      // An answer that fails (the user blocked the bot) does not hold the stream up.
      await bot.sendMessage(outcome.chatId, outcome.reply).catch(() => undefined);
    }
    await db.query(`INSERT INTO telegram_state (id, update_offset) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET update_offset = EXCLUDED.update_offset`, [update.update_id + 1]);
  }
  return { updates: updates.length, linked };
}

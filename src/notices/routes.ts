import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { auditRequest } from '../api/access.js';
import type { AppContext } from '../api/context.js';
import { ApiError } from '../api/errors.js';
import { issueLinkCode } from './telegram-link.js';
import { formatRate } from '../loans/origination.js';
import { rateFromPercent } from '../loans/interest.js';

/**
 * A miner's own notice settings (issue 19): the language of its letters, the channels it wants
 * (e-mail to the address the bank has on record, Telegram once linked), an early-warning LTV of
 * its own below the bank's warning (notices/reminders.ts), and the Telegram link itself (a
 * one-time code for the bank's bot). Only the signed-in
 * user's own settings: the routes take no id, so there is nobody else's to reach.
 */

const errors = { 400: Type.Ref('Error'), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 409: Type.Ref('Error') };
const Preferences = Type.Object({
  language: Type.Union([Type.Literal('ru'), Type.Literal('en')]),
  email: Type.Boolean(),
  telegram: Type.Boolean(),
  earlyWarningLtvPercent: Type.Union([Type.String({ pattern: '^[0-9]{1,2}(\\.[0-9]{1,2})?$', examples: ['55'] }), Type.Null()]),
}, { additionalProperties: false });
/** What PUT takes: the early warning may be left out (none). */
const PreferencesBody = Type.Object({ ...Preferences.properties, earlyWarningLtvPercent: Type.Optional(Preferences.properties.earlyWarningLtvPercent) }, { additionalProperties: false });

interface PreferenceRow { language: 'ru' | 'en'; email: boolean; telegram: boolean; early_warning_ltv: bigint | null; [key: string]: unknown }

export function noticeRoutes(context: AppContext): FastifyPluginAsyncTypebox {
  const { db, now } = context;
  const read = async (userId: bigint) => {
    const [prefs] = await db.query<PreferenceRow>('SELECT language, email, telegram, early_warning_ltv FROM notice_preferences WHERE user_id = $1', [userId]);
    const [link] = await db.query<{ username: string | null; linked_at: Date }>('SELECT username, linked_at FROM telegram_links WHERE user_id = $1', [userId]);
    const [contact] = await db.query<{ email: string | null }>('SELECT c.email FROM risk_contacts c JOIN borrowers b ON b.id = c.borrower_id JOIN users u ON u.borrower_id = b.ref WHERE u.id = $1', [userId]);
    return {
      preferences: {
        language: prefs?.language ?? 'ru', email: prefs?.email ?? true, telegram: prefs?.telegram ?? true,
        earlyWarningLtvPercent: prefs?.early_warning_ltv == null ? null : formatRate(prefs.early_warning_ltv),
      },
      email: contact?.email ?? null,
      telegram: {
        available: context.telegram !== undefined,
        bot: context.telegram?.username ?? null,
        linked: link === undefined ? null : { username: link.username, at: link.linked_at.toISOString() },
      },
    };
  };
  const View = Type.Object({
    preferences: Preferences,
    email: Type.Union([Type.String(), Type.Null()]),
    telegram: Type.Object({ available: Type.Boolean(), bot: Type.Union([Type.String(), Type.Null()]), linked: Type.Union([Type.Object({ username: Type.Union([Type.String(), Type.Null()]), at: Type.String() }), Type.Null()]) }),
  });

  return async (app) => {
    app.get('/me/notices', {
      config: { access: { roles: ['borrower'] } },
      schema: { tags: ['risk'], operationId: 'getMyNotices', summary: 'My notice settings: language, channels, early-warning LTV, the e-mail address the bank has for my company, my Telegram link', response: { 200: View, ...errors } },
    }, async (request) => read(request.principal!.user.id));

    app.put('/me/notices', {
      config: { access: { roles: ['borrower'] }, audit: 'notices.preferences.set' },
      schema: {
        tags: ['risk'], operationId: 'setMyNotices',
        summary: 'Set my notice settings: the language of my letters (ru, en), e-mail and Telegram on or off, and an early-warning LTV of my own (a notice, at most daily, while a loan\'s LTV is at or above it and below the bank\'s warning; null: none)',
        body: PreferencesBody, response: { 200: View, ...errors },
      },
    }, async (request) => {
      const user = request.principal!.user;
      const body = request.body;
      const early = body.earlyWarningLtvPercent == null ? null : rateFromPercent(body.earlyWarningLtvPercent);
      if (early !== null && (early === undefined || early < 10_000n || early >= 1_000_000n)) throw new ApiError(400, 'invalid_percent', 'earlyWarningLtvPercent: from 1 to under 100, at most two decimals', { field: 'earlyWarningLtvPercent' });
      const at = now();
      await db.transaction(async (tx) => {
        await tx.query(`INSERT INTO notice_preferences (user_id, language, email, telegram, early_warning_ltv, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
                        ON CONFLICT (user_id) DO UPDATE SET language = EXCLUDED.language, email = EXCLUDED.email, telegram = EXCLUDED.telegram, early_warning_ltv = EXCLUDED.early_warning_ltv, updated_at = EXCLUDED.updated_at`,
          [user.id, body.language, body.email, body.telegram, early, at]);
        await auditRequest(tx, request, { action: 'notices.preferences.set', target: `user:${user.id}`, details: { ...body, earlyWarningLtvPercent: body.earlyWarningLtvPercent ?? null } }, at);
      });
      return read(user.id);
    });

    app.post('/me/notices/telegram-code', {
      config: { access: { roles: ['borrower'] }, audit: 'notices.telegram.code' },
      schema: {
        tags: ['risk'], operationId: 'linkMyTelegram',
        summary: 'A one-time code (15 minutes) to link my Telegram chat: open the bank\'s bot with it (the link in the answer sends "/start <code>"), and the bot links the chat that sent it',
        response: { 201: Type.Object({ code: Type.String(), expiresAt: Type.String(), bot: Type.Union([Type.String(), Type.Null()]), link: Type.Union([Type.String(), Type.Null()]) }), ...errors },
      },
    }, async (request, reply) => {
      if (context.telegram === undefined) throw new ApiError(409, 'telegram_not_configured', 'the bank has no Telegram bot configured (ZALOG_TELEGRAM_BOT_TOKEN)');
      const user = request.principal!.user;
      const at = now();
      const issued = await db.transaction(async (tx) => {
        const made = await issueLinkCode(tx, user.id, at);
        // The code itself is a credential for the link: it stays out of the audit trail.
        await auditRequest(tx, request, { action: 'notices.telegram.code', target: `user:${user.id}`, details: { expiresAt: made.expiresAt.toISOString() } }, at);
        return made;
      });
      const bot = context.telegram.username;
      reply.status(201);
      return { code: issued.code, expiresAt: issued.expiresAt.toISOString(), bot, link: bot === null ? null : `https://t.me/${bot}?start=${issued.code}` };
    });

    app.delete('/me/notices/telegram', {
      config: { access: { roles: ['borrower'] }, audit: 'notices.telegram.unlink' },
      schema: { tags: ['risk'], operationId: 'unlinkMyTelegram', summary: 'Unlink my Telegram chat: no more notices there', response: { 200: View, ...errors } },
    }, async (request) => {
      const user = request.principal!.user;
      const at = now();
      await db.transaction(async (tx) => {
        const gone = await tx.query<{ chat_id: bigint }>('DELETE FROM telegram_links WHERE user_id = $1 RETURNING chat_id', [user.id]);
        await auditRequest(tx, request, { action: 'notices.telegram.unlink', target: `user:${user.id}`, details: { unlinked: gone.length > 0 } }, at);
      });
      return read(user.id);
    });
  };
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local server that speaks the Telegram Bot API's documented format
 * (https://core.telegram.org/bots/api#making-requests) for the three methods the bank's bot uses:
 * `POST /bot<token>/<method>` with a JSON body, answered `{ ok: true, result }` or
 * `{ ok: false, error_code, description }`. It checks the token (401 "Unauthorized" otherwise, as
 * the real API does), keeps what was sent, and queues updates a test pushes, as if a user had
 * written to the bot; getUpdates confirms the updates before `offset` and drops them, as the API
 * does. `blocked` chats answer 403 ("bot was blocked by the user"); `floodOnce` answers one 429.
 */

export interface SentMessage { readonly chatId: number; readonly text: string; readonly parseMode: string | undefined; readonly messageId: number }

export interface TelegramTestServer {
  readonly url: string;
  readonly token: string;
  readonly sent: SentMessage[];
  readonly blocked: Set<number>;
  /** The next sendMessage answers 429 with this retry_after, once. */
  floodOnce: number | undefined;
  /** A private message from a user, as the bot would receive it. */
  pushMessage(chatId: number, text: string, username?: string): void;
  /** Resolves when `count` messages have been sent in all. */
  waitForSent(count: number): Promise<SentMessage[]>;
  close(): Promise<void>;
}

export const TEST_BOT_TOKEN = '123456789:AAtestTOKENfor-the-local-Bot-API';

export async function startTelegramServer(options: { username?: string } = {}): Promise<TelegramTestServer> {
  const updates: Array<{ update_id: number; message: Record<string, unknown> }> = [];
  const sent: SentMessage[] = [];
  const waiters: Array<{ count: number; resolve: (sent: SentMessage[]) => void }> = [];
  let nextUpdate = 1000;
  let nextMessage = 1;
  const state = { floodOnce: undefined as number | undefined };
  const blocked = new Set<number>();
  const answer = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => { raw += chunk; });
    req.on('end', () => {
      const match = /^\/bot([^/]+)\/(\w+)$/.exec(req.url ?? '');
      if (match === null) return answer(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      if (match[1] !== TEST_BOT_TOKEN) return answer(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
      let body: Record<string, unknown>;
      try {
        body = raw === '' ? {} : JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return answer(res, 400, { ok: false, error_code: 400, description: 'Bad Request: can\'t parse JSON' });
      }
      switch (match[2]) {
        case 'getMe':
          return answer(res, 200, { ok: true, result: { id: 123456789, is_bot: true, first_name: 'Zalog Bank', username: options.username ?? 'zalog_test_bot' } });
        case 'getUpdates': {
          const offset = typeof body.offset === 'number' ? body.offset : 0;
          // Updates before the offset are confirmed: the API forgets them.
          while (updates.length > 0 && updates[0]!.update_id < offset) updates.shift();
          return answer(res, 200, { ok: true, result: updates.slice(0, typeof body.limit === 'number' ? body.limit : 100) });
        }
        case 'sendMessage': {
          const chatId = Number(body.chat_id);
          if (!Number.isSafeInteger(chatId) || typeof body.text !== 'string' || body.text.length === 0) return answer(res, 400, { ok: false, error_code: 400, description: 'Bad Request: chat_id and text are required' });
          if (body.text.length > 4096) return answer(res, 400, { ok: false, error_code: 400, description: 'Bad Request: message is too long' });
          if (body.parse_mode === 'HTML' && !wellFormedTelegramHtml(body.text)) return answer(res, 400, { ok: false, error_code: 400, description: 'Bad Request: can\'t parse entities' });
          if (blocked.has(chatId)) return answer(res, 403, { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' });
          if (state.floodOnce !== undefined) {
            const retry = state.floodOnce;
            state.floodOnce = undefined;
            return answer(res, 429, { ok: false, error_code: 429, description: `Too Many Requests: retry after ${retry}`, parameters: { retry_after: retry } });
          }
          const message = { chatId, text: body.text, parseMode: typeof body.parse_mode === 'string' ? body.parse_mode : undefined, messageId: nextMessage++ };
          sent.push(message);
          for (const waiter of waiters.splice(0)) {
            if (sent.length >= waiter.count) waiter.resolve(sent.slice());
            else waiters.push(waiter);
          }
          return answer(res, 200, { ok: true, result: { message_id: message.messageId, date: Math.floor(Date.now() / 1000), chat: { id: chatId, type: 'private' }, text: body.text } });
        }
        default:
          return answer(res, 404, { ok: false, error_code: 404, description: 'Not Found: method not found' });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url, token: TEST_BOT_TOKEN, sent, blocked,
    get floodOnce() { return state.floodOnce; },
    set floodOnce(value) { state.floodOnce = value; },
    pushMessage(chatId, text, username) {
      updates.push({ update_id: nextUpdate++, message: { message_id: nextMessage++, date: Math.floor(Date.now() / 1000), chat: { id: chatId, type: 'private' }, from: { id: chatId, is_bot: false, first_name: 'Miner', ...(username === undefined ? {} : { username }) }, text } });
    },
    waitForSent(count) {
      if (sent.length >= count) return Promise.resolve(sent.slice());
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Whether a text is what the Bot API's HTML parse mode accepts: only its tags (b, strong, i, em,
 * u, s, a href, code, pre, blockquote, tg-spoiler), each closed in order, and `<`, `>`, `&` only
 * as tags or the entities &lt; &gt; &amp; &quot;.
 */
export function wellFormedTelegramHtml(text: string): boolean {
  const allowed = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'a', 'code', 'pre', 'blockquote', 'tg-spoiler', 'span']);
  const open: string[] = [];
  const token = /<\/?([a-z-]+)(\s[^<>]*)?>|&(#\d+|lt|gt|amp|quot);|[<>&]/g;
  for (const m of text.matchAll(token)) {
    if (m[0] === '<' || m[0] === '>' || m[0] === '&') return false;
    if (m[0].startsWith('&')) continue;
    const name = m[1]!;
    if (!allowed.has(name)) return false;
    if (m[0].startsWith('</')) {
      if (open.pop() !== name) return false;
    } else {
      if (name === 'a' && !/^\s+href="[^"]+"$/.test(m[2] ?? '')) return false;
      open.push(name);
    }
  }
  return open.length === 0;
}

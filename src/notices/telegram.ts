import { fetch } from 'undici';

/**
 * A client of the Telegram Bot API (https://core.telegram.org/bots/api): the three methods the
 * bank's bot needs. `getMe` (the bot's username, for the t.me link a miner opens), `getUpdates`
 * (long polling: the "/start CODE" a miner sends to link its chat) and `sendMessage` (a notice, in
 * the API's HTML parse mode). Every call is a POST of JSON to `<api>/bot<token>/<method>`; every
 * answer is `{ ok: true, result }` or `{ ok: false, error_code, description, parameters }`.
 * Written by hand (a hundred lines over undici's fetch) rather than through a bot framework: the
 * bank's bot answers one command, and a framework's router and session store would be unused.
 */

export interface TelegramUser { readonly id: number; readonly username?: string; readonly first_name?: string }
export interface TelegramMessage { readonly message_id: number; readonly chat: { readonly id: number; readonly type: string }; readonly from?: TelegramUser; readonly date: number; readonly text?: string }
export interface TelegramUpdate { readonly update_id: number; readonly message?: TelegramMessage }

/** A refusal from the Bot API, with its code; `retryAfter` seconds on 429 (flood control). */
export class TelegramError extends Error {
  constructor(message: string, readonly code: number, readonly retryAfter?: number) {
    super(message);
  }

  /** Whether sending again can help: not for a chat that blocked the bot, a bad request or a bad token. */
  get permanent(): boolean {
    return this.code === 400 || this.code === 401 || this.code === 403 || this.code === 404;
  }
}

export interface TelegramBot {
  getMe(): Promise<TelegramUser>;
  getUpdates(offset: number, timeoutSeconds: number): Promise<TelegramUpdate[]>;
  sendMessage(chatId: number | bigint, html: string): Promise<TelegramMessage>;
}

export interface TelegramOptions {
  /** The bot's token from @BotFather ("123456:ABC..."). */
  readonly token: string;
  /** The Bot API's address: https://api.telegram.org, or a local Bot API server. */
  readonly apiUrl?: string;
  readonly timeoutMs?: number;
}

export function telegramBot(options: TelegramOptions): TelegramBot {
  if (!/^\d+:[A-Za-z0-9_-]{20,}$/.test(options.token)) throw new Error('a Telegram bot token looks like 123456789:AA... (from @BotFather)');
  const base = `${(options.apiUrl ?? 'https://api.telegram.org').replace(/\/$/, '')}/bot${options.token}`;
  const call = async <T>(method: string, body: Record<string, unknown>, timeoutMs = options.timeoutMs ?? 10_000): Promise<T> => {
    let response;
    try {
      response = await fetch(`${base}/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      // The token is part of the URL: never repeat the URL in an error that may be logged.
      throw new TelegramError(`Telegram ${method}: unreachable (${(error as Error).name})`, 0);
    }
    let answer: { ok?: boolean; result?: T; error_code?: number; description?: string; parameters?: { retry_after?: number } };
    try {
      answer = await response.json() as typeof answer;
    } catch {
      throw new TelegramError(`Telegram ${method}: answered ${response.status} without JSON`, response.status);
    }
    if (answer.ok !== true) throw new TelegramError(`Telegram ${method}: ${answer.description ?? `error ${response.status}`}`, answer.error_code ?? response.status, answer.parameters?.retry_after);
    return answer.result as T;
  };
  return {
    getMe: () => call<TelegramUser>('getMe', {}),
    getUpdates: (offset, timeoutSeconds) => call<TelegramUpdate[]>('getUpdates', { offset, timeout: timeoutSeconds, allowed_updates: ['message'] }, (timeoutSeconds + 10) * 1000),
    sendMessage: (chatId, html) => call<TelegramMessage>('sendMessage', { chat_id: Number(chatId), text: html, parse_mode: 'HTML', link_preview_options: { is_disabled: true } }),
  };
}

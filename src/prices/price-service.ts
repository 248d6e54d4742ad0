import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Database, Leadership, Queryable } from '../db/database.js';
import type { Fraction, PriceKopecksPerBtc } from '../money/money.js';
import type { Quote } from './aggregate.js';
import { confirmPrice, INITIAL_BREAKER, setManual, type BreakerState, type ManualPrice } from './breaker.js';
import { runCycle, type PipelineConfig } from './pipeline.js';
import { acceptedSince, cycleById, insertCycles, lastAccepted, latestCycle, readHealth, saveHealth, type SourceHealth, type StoredCycle } from './price-repository.js';
import type { OfficialRate } from './sources/cbr.js';
import { nextHealth, pollSource, type RetryPolicy } from './sources/poll.js';
import type { PriceSource } from './sources/source.js';

/**
 * The live price service. One instance polls (the leader, by advisory lock); every instance
 * serves the latest cycle and emits 'cycle' events, the followers on NOTIFY from the leader.
 * State that must survive restarts and be shared (manual prices, confirmations) lives in the
 * database and is read every cycle; the breaker's window is rebuilt from stored cycles at start.
 */

export const PRICE_CHANNEL = 'zalog_prices';
const LEADER_LOCK_KEY = 7_263_552_112;

export interface PriceServiceOptions {
  readonly db: Database;
  readonly sources: readonly PriceSource[];
  /** The Bank of Russia's USD/RUB for a day (the rate in force on that day). */
  readonly usdRub?: (day: Date) => Promise<OfficialRate>;
  readonly usdRubRefreshSeconds: number;
  readonly usdRubMaxAgeDays: number;
  readonly pipeline: PipelineConfig;
  readonly retry: RetryPolicy;
  readonly cycleSeconds: number;
  readonly now: () => Date;
  readonly logger?: Logger;
}

export class PriceService extends EventEmitter<{ cycle: [StoredCycle] }> {
  readonly #options: PriceServiceOptions;
  #state: BreakerState = INITIAL_BREAKER;
  #latest: StoredCycle | undefined;
  #health = new Map<string, SourceHealth>();
  #usdRub: { rate: OfficialRate; fetchedAt: Date } | undefined;
  #usdRubHealth: SourceHealth | undefined;
  #timer: NodeJS.Timeout | undefined;
  #leadership: Leadership | null = null;
  #unlisten: (() => Promise<void>) | undefined;
  #running: Promise<unknown> = Promise.resolve();

  constructor(options: PriceServiceOptions) {
    super();
    this.#options = options;
  }

  /** Rebuilds the breaker's memory from stored cycles (its window, the last accepted price). */
  async init(): Promise<void> {
    const { db, now, pipeline } = this.#options;
    const since = new Date(now().getTime() - pipeline.breaker.moveWindowSeconds * 1000);
    const recent = await acceptedSince(db, 'live', since);
    const last = await lastAccepted(db, 'live');
    this.#state = { ...INITIAL_BREAKER, recent, lastAccepted: last ?? null };
    this.#latest = await latestCycle(db, 'live');
    for (const health of await readHealth(db)) {
      if (health.pair === 'USD/RUB') this.#usdRubHealth = health;
      else this.#health.set(health.source, health);
    }
  }

  latest(): StoredCycle | undefined {
    return this.#latest;
  }

  health(): SourceHealth[] {
    return [...this.#health.values(), ...(this.#usdRubHealth ? [this.#usdRubHealth] : [])];
  }

  /** The USD/RUB rate to cross with: refreshed every so often, used while not too old. */
  async #currentUsdRub(now: Date): Promise<{ rate: Fraction | undefined; quote: Quote | undefined }> {
    const { usdRub, usdRubRefreshSeconds, usdRubMaxAgeDays } = this.#options;
    if (usdRub === undefined) return { rate: undefined, quote: undefined };
    if (this.#usdRub === undefined || now.getTime() - this.#usdRub.fetchedAt.getTime() >= usdRubRefreshSeconds * 1000) {
      const source: PriceSource = { name: 'cbr', pair: 'USD/RUB', fetchQuote: async (clock) => {
        const rate = await usdRub(clock());
        this.#usdRub = { rate, fetchedAt: clock() };
        return { source: 'cbr', pair: 'USD/RUB', price: rate.rubPerUnit, observedAt: new Date(`${rate.effectiveDate}T00:00:00+03:00`), receivedAt: clock() };
      } };
      const result = await pollSource(source, this.#options.retry, this.#options.now);
      this.#usdRubHealth = nextHealth(this.#usdRubHealth, source, result, now);
    }
    const held = this.#usdRub;
    if (held === undefined) return { rate: undefined, quote: undefined };
    const effective = new Date(`${held.rate.effectiveDate}T00:00:00+03:00`);
    if (now.getTime() - effective.getTime() > usdRubMaxAgeDays * 86_400_000) return { rate: undefined, quote: undefined };
    return { rate: held.rate.rubPerUnit, quote: { source: 'cbr', pair: 'USD/RUB', price: held.rate.rubPerUnit, observedAt: effective, receivedAt: held.fetchedAt } };
  }

  /** The state with the manual price in force and any confirmation of a sharp move applied. */
  async #applyStoredDecisions(tx: Queryable, state: BreakerState, now: Date): Promise<BreakerState> {
    const [manual] = await tx.query<{ price_kopecks: bigint; valid_until: Date; reason: string; approval_id: bigint }>(
      'SELECT price_kopecks, valid_until, reason, approval_id FROM price_manual WHERE valid_from <= $1 AND valid_until > $1 AND ended_at IS NULL ORDER BY id DESC LIMIT 1', [now],
    );
    const active: ManualPrice | null = manual === undefined ? null : { priceKopecks: manual.price_kopecks as PriceKopecksPerBtc, until: manual.valid_until, reason: manual.reason, approvalId: manual.approval_id.toString() };
    let next = setManual(state, active);
    if (next.sharpMove !== null) {
      const [confirmed] = await tx.query<{ at: Date }>('SELECT at FROM price_confirmations WHERE at >= $1 ORDER BY at DESC LIMIT 1', [next.sharpMove.at]);
      if (confirmed !== undefined) next = confirmPrice(next);
    }
    return next;
  }

  /** One cycle: poll, decide, store, publish. Cycles never overlap. */
  cycle(): Promise<StoredCycle> {
    const next = this.#running.then(() => this.#cycle());
    this.#running = next.catch(() => undefined);
    return next;
  }

  async #cycle(): Promise<StoredCycle> {
    const { db, sources, retry, now, pipeline } = this.#options;
    const results = await Promise.all(sources.map(async (source) => ({ source, result: await pollSource(source, retry, now) })));
    const at = now();
    for (const { source, result } of results) {
      const before = this.#health.get(source.name);
      this.#health.set(source.name, nextHealth(before, source, result, at));
      // A source that starts failing (or recovers) is worth a line above info; one that keeps failing is not.
      const wasOk = before === undefined || before.healthy;
      if (!result.ok && wasOk) this.#options.logger?.warn({ source: source.name, reason: result.reason }, 'price source failing');
      if (result.ok && !wasOk) this.#options.logger?.info({ source: source.name }, 'price source recovered');
    }
    const quotes = results.flatMap(({ result }) => (result.ok ? [result.quote] : []));
    const usdRub = await this.#currentUsdRub(at);
    let next: BreakerState = this.#state;
    const stored = await db.transaction(async (tx) => {
      const before = await this.#applyStoredDecisions(tx, this.#state, at);
      const { state, record } = runCycle(before, quotes, usdRub.rate, at, pipeline);
      next = state;
      const withRate = usdRub.quote === undefined ? record : { ...record, quotes: [...record.quotes, usdRub.quote] };
      const unhealthy = results.filter(({ result }) => !result.ok).map(({ source, result }) => ({ source: source.name, reason: result.ok ? '' : result.reason }));
      const [id] = await insertCycles(tx, 'live', [{ ...withRate, detail: { ...withRate.detail, ...(unhealthy.length > 0 ? { unhealthy } : {}) } }]);
      await saveHealth(tx, this.health(), at);
      await tx.query('SELECT pg_notify($1, $2)', [PRICE_CHANNEL, id!.toString()]);
      return (await cycleById(tx, id!))!;
    });
    // The breaker's memory moves on only with a stored cycle: a failed write leaves it as it was.
    this.#state = next;
    const previous = this.#latest;
    this.#latest = stored;
    if (stored.status === 'degraded' && previous?.status !== 'degraded') {
      this.#options.logger?.warn({ cycle: stored.id.toString(), reasons: stored.reasons }, 'price degraded: no automatic liquidation and no call expires until a normal or manual price');
    } else if (stored.status !== 'degraded' && previous?.status === 'degraded') {
      this.#options.logger?.warn({ cycle: stored.id.toString(), status: stored.status }, 'price no longer degraded');
    }
    this.emit('cycle', stored);
    this.#options.logger?.debug({ cycle: stored.id.toString(), status: stored.status, price: stored.publishedKopecks?.toString() ?? null }, 'price cycle');
    return stored;
  }

  /**
   * Runs: polls every `cycleSeconds` while this instance is the leader (retrying leadership each
   * cycle), and follows the leader's cycles through NOTIFY otherwise.
   */
  async start(): Promise<void> {
    await this.init();
    this.#unlisten = await this.#options.db.listen(PRICE_CHANNEL, (payload) => {
      if (this.#leadership !== null || !/^\d+$/.test(payload)) return;
      void cycleById(this.#options.db, BigInt(payload)).then((cycle) => {
        if (cycle !== undefined && cycle.stream === 'live') {
          this.#latest = cycle;
          this.emit('cycle', cycle);
        }
      }, (error: unknown) => this.#options.logger?.warn({ err: error }, 'could not read a notified price cycle'));
    });
    const tick = async () => {
      try {
        if (this.#leadership !== null && !(await this.#leadership.stillHeld())) {
          this.#options.logger?.warn('lost price leadership; trying to take it again');
          await this.#leadership.release().catch(() => undefined);
          this.#leadership = null;
        }
        this.#leadership ??= await this.#options.db.tryLeadership(LEADER_LOCK_KEY);
        if (this.#leadership !== null) await this.cycle();
      } catch (error) {
        this.#options.logger?.error({ err: error }, 'price cycle failed');
      }
      if (this.#timer !== undefined) this.#timer = setTimeout(tick, this.#options.cycleSeconds * 1000);
    };
    this.#timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
    await this.#unlisten?.();
    await this.#leadership?.release();
    this.#leadership = null;
  }
}

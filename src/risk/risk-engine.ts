import { Mutex } from 'async-mutex';
import type { Database } from '../db/database.js';
import { latestCycle, type StoredCycle } from '../prices/price-repository.js';
import { priceInForce } from '../prices/current.js';
import { applyPrice, type AcceptedPrice, type Cause, type RiskStore, type Tick } from './engine.js';
import type { Ladder } from './ladder.js';
import { RiskIndex, type IndexedLoan, type Move } from './risk-index.js';
import { changesSince, loadLadders } from './risk-store.js';

/**
 * The risk engine in the service: the in-memory index rebuilt from `loan_risk` at start, kept in
 * step with it by reading the rows changed since the last read (repayments, top-ups, accrual,
 * new and closed loans), and moved by every accepted price. Every service instance runs one (the
 * store writes a move only from the state it was decided on, so two engines making the same move
 * write it once). Every step runs under one mutex, so a tick never interleaves with a catch-up.
 *
 * Order of a tick: first catch up with the changed exposures (each re-decided at the last price:
 * a repayment that cures a call is recorded before the new price is applied), then apply the
 * price. If recording fails, the index may hold moves the database does not: the engine rebuilds
 * before its next step.
 */
export interface RiskEngineReport {
  readonly loans: number;
  readonly moves: number;
}

export interface ExpiryReport {
  /** Calls past their deadline sent to liquidation. */
  readonly expired: number;
  /** Calls past their deadline that wait for a price the service stands behind. */
  readonly waiting: number;
  /** Why they wait (the price's status). */
  readonly reason?: string;
}

export class RiskEngine {
  private index = new RiskIndex();
  private ladders = new Map<string, Ladder>();
  private seq = -1n;
  private last: AcceptedPrice | undefined;
  private stale = true;
  private readonly mutex = new Mutex();

  constructor(private readonly db: Database, private readonly store: RiskStore) {}

  /** Reads every exposure again and re-decides each at the last accepted price. */
  rebuild(): Promise<RiskEngineReport> {
    return this.mutex.runExclusive(() => this.rebuildNow());
  }

  /** Catches up with the exposures changed since the last read. */
  catchUp(now: Date): Promise<RiskEngineReport> {
    return this.mutex.runExclusive(() => this.ready(now));
  }

  /** Applies a published price cycle (a degraded cycle moves nothing: its price is the last good one). */
  onCycle(cycle: StoredCycle): Promise<Tick | undefined> {
    if (cycle.publishedKopecks === null || cycle.status === 'degraded') return Promise.resolve(undefined);
    return this.onPrice({ price: cycle.publishedKopecks, cycleId: cycle.id, at: cycle.at });
  }

  onPrice(accepted: AcceptedPrice): Promise<Tick> {
    return this.mutex.runExclusive(async () => {
      await this.ready(accepted.at);
      return this.guard(async () => {
        const tick = await applyPrice(this.index, this.store, accepted);
        this.last = accepted;
        return tick;
      });
    });
  }

  /**
   * Calls whose deadline has passed uncured go to liquidation (cause 'deadline'), recorded at the
   * last price (none before a first price: no call can be open then). Run by the service every 10 s.
   *
   * A risk decision never rests on a price the service does not stand behind: while the price is
   * degraded or stale (currentPrice), a deadline that passes does not send the loan to liquidation;
   * it waits for a normal (or manual) price and the report says how many wait and why. (The risk
   * view tells the borrower and staff the same: GET /borrowers/{ref}/risk.)
   */
  expireCalls(now: Date, options: { staleAfterSeconds: number }): Promise<ExpiryReport> {
    return this.mutex.runExclusive(async () => {
      await this.ready(now);
      if (this.last === undefined) return { expired: 0, waiting: 0 };
      const due = await this.db.query<{ loan_id: bigint }>(
        `SELECT loan_id FROM loan_risk WHERE live AND state IN ('margin_call', 'accelerated_call') AND call_deadline <= $1 ORDER BY loan_id`, [now]);
      if (due.length === 0) return { expired: 0, waiting: 0 };
      const price = await priceInForce(this.db, now, options.staleAfterSeconds);
      if (!price.ok) return { expired: 0, waiting: due.length, reason: price.message };
      const moves: Move[] = [];
      for (const { loan_id: id } of due) {
        const loan = this.index.get(id);
        if (loan === undefined || (loan.state !== 'margin_call' && loan.state !== 'accelerated_call')) continue;
        moves.push({ id, from: loan.state, to: 'liquidation', exposure: loan.exposure, ladder: loan.ladder });
        this.index.put({ ...loan, state: 'liquidation' });
      }
      await this.recordAtLast('deadline', moves, now);
      return { expired: moves.length, waiting: 0 };
    });
  }

  private async rebuildNow(): Promise<RiskEngineReport> {
    const cycle = await latestCycle(this.db, 'live');
    if (this.last === undefined && cycle?.publishedKopecks != null) this.last = { price: cycle.publishedKopecks, cycleId: cycle.id, at: cycle.at };
    this.index = new RiskIndex(this.last?.price);
    this.ladders = await loadLadders(this.db);
    this.seq = -1n;
    this.stale = false;
    return this.catchUpNow(new Date());
  }

  private async catchUpNow(now: Date): Promise<RiskEngineReport> {
    const changes = await changesSince(this.db, this.seq);
    const fresh = this.seq < 0n;
    const live: IndexedLoan[] = [];
    for (const row of changes.rows) {
      if (!row.live) {
        this.index.remove(row.loanId);
        continue;
      }
      let ladder = this.ladders.get(row.ladderKey);
      if (ladder === undefined) {
        this.ladders = await loadLadders(this.db);
        ladder = this.ladders.get(row.ladderKey);
        if (ladder === undefined) throw new Error(`no ladder for ${row.ladderKey}`);
      }
      live.push({ id: row.loanId, state: row.state, exposure: row.equipment === 0n ? { debt: row.debt, sats: row.sats } : { debt: row.debt, sats: row.sats, equipment: row.equipment }, ladder });
    }
    const moves: Move[] = fresh ? this.index.load(live) : [];
    if (!fresh) for (const loan of live) {
      const move = this.index.put(loan);
      if (move !== undefined) moves.push(move);
    }
    this.seq = changes.seq;
    await this.recordAtLast('exposure', moves, now);
    return { loans: live.length, moves: moves.length };
  }

  /** Rebuilds if the index is not trusted, else catches up. */
  private ready(now: Date): Promise<RiskEngineReport> {
    return this.stale ? this.rebuildNow() : this.catchUpNow(now);
  }

  /** Records moves decided at the last price (there are none before a first price). */
  private async recordAtLast(cause: Cause, moves: readonly Move[], now: Date): Promise<void> {
    const last = this.last;
    if (moves.length > 0 && last !== undefined) await this.guard(() => this.store.record({ ...last, at: now, cause, moves }));
  }

  /** Records moves the index has already made: on failure the index is no longer trusted. */
  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      this.stale = true;
      throw error;
    }
  }
}


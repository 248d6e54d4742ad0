import sortedBtree from 'sorted-btree';
import { levels, stateAt, triggersAt, type Exposure, type Ladder, type Levels, type RiskState } from './ladder.js';

// sorted-btree is CommonJS: Node's ESM import gives its exports object (the class is `.default`),
// vitest's interop gives the class itself.
type BTreeClass = typeof sortedBtree.default;
const BTree: BTreeClass = (sortedBtree as { default?: BTreeClass }).default ?? (sortedBtree as unknown as BTreeClass);
type BTree<K, V> = import('sorted-btree').default<K, V>;

/**
 * Every loan ordered by its trigger prices, in memory (issue 7: "trigger prices, not rescans").
 *
 * Two B+ trees (sorted-btree, a maintained library: a balanced tree we do not write by hand) hold
 * one key per loan each: its `worsenAt` price in one, its `improveAbove` price in the other, the
 * loan id in the key's low 40 bits so keys are unique and the order is total. The index keeps one
 * invariant: every loan's state is the one `nextState` gives at the last price applied. Then a new
 * price p can only move the loans with worsenAt >= p or improveAbove < p, found by two range
 * reads, O(log n + k), whatever the move's size; a price that crosses no trigger reads nothing.
 * Changes to a loan's debt, collateral or state go through `put`, which re-evaluates it at the
 * last price (so a repayment or top-up that cures a call is decided at once).
 */

const ID_BITS = 40n;
const ID_MASK = (1n << ID_BITS) - 1n;
const compare = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

export interface IndexedLoan {
  readonly id: bigint;
  readonly state: RiskState;
  readonly exposure: Exposure;
  readonly ladder: Ladder;
}

export interface Move {
  readonly id: bigint;
  readonly from: RiskState;
  readonly to: RiskState;
}

interface Entry extends IndexedLoan {
  readonly levels: Levels;
  readonly worsenKey: bigint | undefined;
  readonly improveKey: bigint | undefined;
}

export class RiskIndex {
  private readonly loans = new Map<bigint, Entry>();
  private readonly worsen: BTree<bigint, bigint> = new BTree<bigint, bigint>(undefined, compare);
  private readonly improve: BTree<bigint, bigint> = new BTree<bigint, bigint>(undefined, compare);
  private last: bigint | undefined;

  /** `price`: the last accepted price, if any (a loan put before any price keeps the state it has). */
  constructor(price?: bigint) {
    this.last = price;
  }

  get size(): number {
    return this.loans.size;
  }

  get price(): bigint | undefined {
    return this.last;
  }

  get(id: bigint): IndexedLoan | undefined {
    const entry = this.loans.get(id);
    return entry === undefined ? undefined : { id: entry.id, state: entry.state, exposure: entry.exposure, ladder: entry.ladder };
  }

  /**
   * Adds or replaces a loan (new debt, collateral, ladder or state), and re-evaluates it at the
   * last price: the move, if any, is returned and already applied.
   */
  put(loan: IndexedLoan): Move | undefined {
    if (loan.id < 0n || loan.id > ID_MASK) throw new RangeError(`loan id ${loan.id} is outside the index's 40-bit range`);
    this.unlink(loan.id);
    const lv = levels(loan.exposure, loan.ladder);
    const to = this.last === undefined ? loan.state : stateAt(loan.state, this.last, lv);
    this.link(loan.id, to, loan.exposure, loan.ladder, lv);
    return to === loan.state ? undefined : { id: loan.id, from: loan.state, to };
  }

  remove(id: bigint): void {
    this.unlink(id);
  }

  /** The loans a move to `price` would touch (those whose trigger it passes), without moving them. */
  candidates(price: bigint): bigint[] {
    const ids: bigint[] = [];
    this.worsen.forRange(price << ID_BITS, (1n << 62n) << ID_BITS, true, (_key, id) => { ids.push(id); });
    this.improve.forRange(0n, price << ID_BITS, false, (_key, id) => { ids.push(id); });
    return ids;
  }

  /** Applies a new price: every loan whose trigger it passes moves (possibly several steps). */
  apply(price: bigint): Move[] {
    if (price <= 0n) throw new RangeError('a price above zero');
    const ids = this.candidates(price);
    this.last = price;
    const moves: Move[] = [];
    for (const id of ids) {
      const entry = this.loans.get(id);
      // A loan listed by both trees (it cannot be: worsenAt < improveAbove always) is moved once.
      if (entry === undefined) continue;
      const to = stateAt(entry.state, price, entry.levels);
      if (to === entry.state) continue;
      this.unlink(id);
      this.link(id, to, entry.exposure, entry.ladder, entry.levels);
      moves.push({ id, from: entry.state, to });
    }
    return moves;
  }

  /** Every loan and its state (for checks against a rescan). */
  *states(): IterableIterator<[bigint, RiskState]> {
    for (const [id, entry] of this.loans) yield [id, entry.state];
  }

  private link(id: bigint, state: RiskState, exposure: Exposure, ladder: Ladder, lv: Levels): void {
    const t = triggersAt(state, lv);
    const worsenKey = t.worsenAt === undefined ? undefined : (t.worsenAt << ID_BITS) | id;
    const improveKey = t.improveAbove === undefined ? undefined : (t.improveAbove << ID_BITS) | id;
    if (worsenKey !== undefined) this.worsen.set(worsenKey, id);
    if (improveKey !== undefined) this.improve.set(improveKey, id);
    this.loans.set(id, { id, state, exposure, ladder, levels: lv, worsenKey, improveKey });
  }

  private unlink(id: bigint): void {
    const entry = this.loans.get(id);
    if (entry === undefined) return;
    if (entry.worsenKey !== undefined) this.worsen.delete(entry.worsenKey);
    if (entry.improveKey !== undefined) this.improve.delete(entry.improveKey);
    this.loans.delete(id);
  }
}

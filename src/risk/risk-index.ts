import sortedBtree from 'sorted-btree';
import { levelKeys, levels, MAX_PRICE_KEY, priceKey, stateAt, triggersAt, type Exposure, type Ladder, type Levels, type RiskState } from './ladder.js';

// sorted-btree is CommonJS: Node's ESM import gives its exports object (the class is `.default`),
// vitest's interop gives the class itself.
type BTreeClass = typeof sortedBtree.default;
const BTree: BTreeClass = (sortedBtree as { default?: BTreeClass }).default ?? (sortedBtree as unknown as BTreeClass);
type BTree<K, V> = import('sorted-btree').default<K, V>;

/**
 * Every loan ordered by its trigger prices, in memory (issue 7: "trigger prices, not rescans").
 *
 * Two B+ trees (sorted-btree, a maintained library: a balanced tree we do not write by hand) map a
 * trigger price to the loans that have it: each loan's `worsenAt` price in one, its `improveAbove`
 * price in the other. The index keeps one invariant: every loan's state is the one `stateAt` gives
 * at the last price applied. Then a new price p can only move the loans with worsenAt >= p or
 * improveAbove < p, found by two range reads, O(log n + k), whatever the move's size; a price that
 * crosses no trigger reads nothing. Changes to a loan's debt, collateral or state go through `put`,
 * which re-evaluates it at the last price (so a repayment or top-up that cures a call is decided at
 * once).
 *
 * The trees' keys and the levels a tick compares are JS numbers, not BigInts (measured: BigInt
 * keys and comparisons were most of a tick). That is exact: prices in kopecks per BTC are below
 * 2^53 (90 trillion roubles a bitcoin; `apply` refuses more) and a trigger above that is clamped to
 * 2^53 - 1, past it at any price that can occur (`levelKeys` in ladder.ts). The property test in
 * ladder.test.ts holds the index to the bigint rule.
 *
 * A price's loans are one entry or, when several share the price, an array (a Set per price was
 * two million objects for a million loans, and the garbage collector's time in a tick).
 */

const MAX_KEY = MAX_PRICE_KEY;

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
  readonly exposure: Exposure;
  readonly ladder: Ladder;
}

interface Entry {
  readonly id: bigint;
  state: RiskState;
  readonly exposure: Exposure;
  readonly ladder: Ladder;
  readonly levels: Levels<number>;
  worsenKey: number | undefined;
  improveKey: number | undefined;
}

type Slot = Entry | Entry[];
type Tree = BTree<number, Slot>;

export class RiskIndex {
  private readonly loans = new Map<bigint, Entry>();
  private readonly worsen: Tree = new BTree<number, Slot>();
  private readonly improve: Tree = new BTree<number, Slot>();
  private last: bigint | undefined;

  /** `price`: the last accepted price, if any (a loan put before any price keeps the state it has). */
  constructor(price?: bigint) {
    this.last = price;
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
    this.remove(loan.id);
    const entry = this.entryFor(loan);
    this.loans.set(loan.id, entry);
    this.link(entry);
    return moveOf(entry, loan.state);
  }

  /**
   * Puts many loans into an empty index (a rebuild): the same as `put` for each, with the trees
   * filled in key order (measured: a third faster than a million inserts in random order).
   */
  load(loans: Iterable<IndexedLoan>): Move[] {
    if (this.loans.size > 0) throw new Error('load fills an empty index; use put');
    const moves: Move[] = [];
    for (const loan of loans) {
      const entry = this.entryFor(loan);
      this.loans.set(loan.id, entry);
      const move = moveOf(entry, loan.state);
      if (move !== undefined) moves.push(move);
    }
    const byWorsen = [...this.loans.values()].filter((e) => e.worsenKey !== undefined).sort((a, b) => a.worsenKey! - b.worsenKey!);
    for (const entry of byWorsen) add(this.worsen, entry.worsenKey!, entry);
    const byImprove = [...this.loans.values()].filter((e) => e.improveKey !== undefined).sort((a, b) => a.improveKey! - b.improveKey!);
    for (const entry of byImprove) add(this.improve, entry.improveKey!, entry);
    return moves;
  }

  /** A loan's entry, its state re-decided at the last price and its keys set (not yet in the trees). */
  private entryFor(loan: IndexedLoan): Entry {
    const lv = levelKeys(levels(loan.exposure, loan.ladder));
    const state = this.last === undefined ? loan.state : stateAt(loan.state, priceKey(this.last), lv);
    const entry: Entry = { id: loan.id, state, exposure: loan.exposure, ladder: loan.ladder, levels: lv, worsenKey: undefined, improveKey: undefined };
    setKeys(entry);
    return entry;
  }

  remove(id: bigint): void {
    const entry = this.loans.get(id);
    if (entry === undefined) return;
    this.unlink(entry);
    this.loans.delete(id);
  }

  /** The loans a move to `price` would touch (those whose trigger it passes), without moving them. */
  candidates(price: bigint): bigint[] {
    return this.touched(price).map((entry) => entry.id);
  }

  /** Applies a new price: every loan whose trigger it passes moves (possibly several steps). */
  apply(price: bigint): Move[] {
    if (price <= 0n || price >= BigInt(MAX_KEY)) throw new RangeError('a price above zero and below 2^53 kopecks per BTC');
    const touched = this.touched(price);
    this.last = price;
    const key = Number(price);
    const moves: Move[] = [];
    for (const entry of touched) {
      const from = entry.state;
      const to = stateAt(from, key, entry.levels);
      if (to === from) continue;
      this.unlink(entry);
      entry.state = to;
      setKeys(entry);
      this.link(entry);
      moves.push(moveOf(entry, from)!);
    }
    return moves;
  }

  private touched(price: bigint): Entry[] {
    const key = priceKey(price);
    const found: Entry[] = [];
    const collect = (_key: number, slot: Slot) => {
      if (Array.isArray(slot)) for (const entry of slot) found.push(entry);
      else found.push(slot);
    };
    // A loan is never in both ranges: its worsenAt is below its improveAbove.
    this.worsen.forRange(key, MAX_KEY, true, collect);
    this.improve.forRange(-1, key, false, collect);
    return found;
  }

  private link(entry: Entry): void {
    if (entry.worsenKey !== undefined) add(this.worsen, entry.worsenKey, entry);
    if (entry.improveKey !== undefined) add(this.improve, entry.improveKey, entry);
  }

  private unlink(entry: Entry): void {
    if (entry.worsenKey !== undefined) drop(this.worsen, entry.worsenKey, entry);
    if (entry.improveKey !== undefined) drop(this.improve, entry.improveKey, entry);
  }
}

/** The keys an entry is filed under in its state. */
function setKeys(entry: Entry): void {
  const t = triggersAt(entry.state, entry.levels);
  entry.worsenKey = t.worsenAt;
  entry.improveKey = t.improveAbove;
}

/** The move from `from` to the entry's state, if it moved. */
function moveOf(entry: Entry, from: RiskState): Move | undefined {
  return entry.state === from ? undefined : { id: entry.id, from, to: entry.state, exposure: entry.exposure, ladder: entry.ladder };
}

function add(tree: Tree, key: number, entry: Entry): void {
  const slot = tree.get(key);
  if (slot === undefined) tree.set(key, entry);
  else if (Array.isArray(slot)) slot.push(entry);
  else tree.set(key, [slot, entry]);
}

function drop(tree: Tree, key: number, entry: Entry): void {
  const slot = tree.get(key);
  if (slot === entry) { tree.delete(key); return; }
  if (!Array.isArray(slot)) return;
  const at = slot.indexOf(entry);
  if (at >= 0) slot.splice(at, 1);
  if (slot.length === 1) tree.set(key, slot[0]!);
}

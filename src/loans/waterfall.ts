/**
 * The repayment waterfall, pure: which debts a payment settles first. The order is a product term
 * (a loan keeps its product version's order); the default is the one 353-FZ art. 5 part 20
 * prescribes for consumer loans, which banks use for business loans too: penalties first here as
 * the issue asks (the law puts overdue interest and principal before penalties for individuals,
 * so a product for individuals should choose that order; productProblems says so).
 */

export const BUCKETS = ['penalty', 'interest_overdue', 'principal_overdue', 'interest', 'principal', 'fee'] as const;
export type Bucket = (typeof BUCKETS)[number];
export type Buckets = Readonly<Record<Bucket, bigint>>;

export const DEFAULT_WATERFALL: readonly Bucket[] = ['penalty', 'interest_overdue', 'principal_overdue', 'interest', 'principal', 'fee'];
/** 353-FZ art. 5 part 20: overdue interest, overdue principal, penalty, current interest, current principal, other. */
export const CONSUMER_WATERFALL: readonly Bucket[] = ['interest_overdue', 'principal_overdue', 'penalty', 'interest', 'principal', 'fee'];

/**
 * The order the law fixes for a kind of borrower, whatever the product says: 353-FZ art. 5 part 20
 * for loans to individuals (overdue interest, overdue principal, penalty, current interest, current
 * principal, then other payments, the bank's fees among them). Companies and entrepreneurs follow
 * their product's waterfall. Undefined: no statutory order.
 */
export function statutoryOrder(kind: string): readonly Bucket[] | undefined {
  return kind === 'individual' ? CONSUMER_WATERFALL : undefined;
}

export const ZERO_BUCKETS: Buckets = { penalty: 0n, interest_overdue: 0n, principal_overdue: 0n, interest: 0n, principal: 0n, fee: 0n };

/** Why an order is not a waterfall, or undefined: every bucket exactly once. */
export function waterfallProblem(order: unknown): string | undefined {
  if (!Array.isArray(order) || order.length !== BUCKETS.length || new Set(order).size !== BUCKETS.length || order.some((b) => !BUCKETS.includes(b as Bucket))) {
    return `every one of ${BUCKETS.join(', ')} exactly once, in the order payments settle them`;
  }
  return undefined;
}

export interface Allocation {
  readonly allocated: Buckets;
  /** What the payment leaves over (stays on the borrower's settlement account). */
  readonly left: bigint;
}

/** Settles `due` from `amount` in `order`, each bucket in full before the next. */
export function allocate(amount: bigint, due: Buckets, order: readonly Bucket[]): Allocation {
  if (amount < 0n) throw new RangeError('a payment is not negative');
  const allocated: Record<Bucket, bigint> = { ...ZERO_BUCKETS };
  let left = amount;
  for (const bucket of order) {
    const owed = due[bucket];
    if (owed < 0n) throw new RangeError(`a debt is not negative (${bucket})`);
    const paid = owed < left ? owed : left;
    allocated[bucket] = paid;
    left -= paid;
  }
  return { allocated, left };
}

export function sumBuckets(buckets: Buckets): bigint {
  return BUCKETS.reduce((sum, bucket) => sum + buckets[bucket], 0n);
}

import type { BusinessCalendar } from '../calendar/business.js';
import type { Database } from '../db/database.js';
import { profiledQuery, type Profile } from '../db/profile.js';
import { systemUser } from '../identity/identity-repository.js';
import { bankAccountId } from '../ledger/ledger-repository.js';
import { interestDayByDay, rateFromPercent } from './interest.js';
import type { ProductTerms } from './product.js';
import { FIXED_TERMS } from './seed-terms.js';
import { DEFAULT_WATERFALL, type Bucket } from './waterfall.js';
import { buildSchedule, type RepaymentType } from './schedule.js';

/**
 * Loads many live loans at once, set-based, for the end-of-day benchmark and the crash test: what a
 * migration from a previous loan system would write. Every loan is complete and consistent with the
 * ledger: its accounts, its schedule (version 1), an application and the shared offer it stood on,
 * a pledged collateral position, and one disbursement entry (principal from the correspondent
 * account, BTC into custody) per loan, so `reconcileLoans` agrees before and after end of day.
 * Not a product path: loans for real borrowers go through applications and four eyes.
 */

export interface SeedOptions {
  readonly count: number;
  readonly loansPerBorrower?: number;
  readonly disbursedOn: string;
  readonly amountKopecks?: bigint;
  readonly rateMillionths?: bigint;
  readonly months?: number;
  readonly type?: RepaymentType;
  readonly sats?: bigint;
  /** Collateral spread evenly (by a hash of the loan id) over [min, max] instead of `sats` for every loan. */
  readonly satsRange?: { readonly min: bigint; readonly max: bigint };
  readonly chunk?: number;
  readonly calendar: BusinessCalendar;
  /** Borrowers and loans are named SB-<prefix>-n; several seeds can share a database, and a seed repeated with one prefix lends again to the same borrowers. */
  readonly prefix?: string;
  /** The product the loans are issued under (created when missing); the default is SEED v1 with FIXED_TERMS. Its rate must be fixed. */
  readonly product?: { readonly code: string; readonly version: number; readonly terms: ProductTerms };
  /** Borrowers are numbered from this + 1 (default 0): seeds with one prefix and different offsets lend to different borrowers. */
  readonly borrowerOffset?: number;
  /** The BTC/RUB price the shared offer records (kopecks per BTC; default 8,000,000 RUB). */
  readonly priceKopecks?: bigint;
  /**
   * Loans migrated mid-life: their interest is accrued from disbursement through this day (their
   * balance and sub-kopeck remainder as end of day would have left them), booked in the seed's
   * entry against interest income. Default: the disbursement day (nothing accrued).
   */
  readonly accruedThrough?: string;
  /** Money on the settlement accounts of every `every`-th borrower (borrower number divisible by it), from the correspondent account. */
  readonly funded?: { readonly kopecks: bigint; readonly every: number };
  /** Chunks written at once (default 2 on PostgreSQL, 1 on PGlite). */
  readonly workers?: number;
  /** Milliseconds by statement, summed over the chunks (bench:eod prints where seeding's time goes). */
  readonly profile?: Profile;
}

export async function seedLoans(db: Database, options: SeedOptions): Promise<{ loans: number; borrowers: number }> {
  const amount = options.amountKopecks ?? 100_000_000n;
  const months = options.months ?? 12;
  const type = options.type ?? 'annuity';
  const sats = options.sats ?? 25_000_000n;
  const range = options.satsRange ?? { min: sats, max: sats };
  const perBorrower = options.loansPerBorrower ?? 10;
  const offset = options.borrowerOffset ?? 0;
  const prefix = options.prefix ?? 'seed';
  const chunk = options.chunk ?? 100_000;
  const product = options.product ?? { code: 'SEED', version: 1, terms: FIXED_TERMS };
  if (product.terms.rate.kind !== 'fixed') throw new Error(`seeded loans are fixed-rate; product ${product.code} floats`);
  const waterfall = product.terms.waterfall ?? DEFAULT_WATERFALL;
  const position = (bucket: Bucket) => waterfall.indexOf(bucket) + 1;
  const penalty = rateFromPercent(product.terms.penaltyPercentPerDay)!;
  const price = options.priceKopecks ?? 800_000_000n;
  const rate = options.rateMillionths ?? rateFromPercent(product.terms.rate.percent)!;
  const schedule = buildSchedule({ principal: amount, rateMillionths: rate, start: options.disbursedOn, months, type }, options.calendar);
  const lines = schedule.lines;
  const user = await systemUser(db);
  const valueTime = new Date(`${options.disbursedOn}T12:00:00+03:00`);
  const accruedThrough = options.accruedThrough ?? options.disbursedOn;
  if (accruedThrough < options.disbursedOn || accruedThrough >= lines[0]!.dueDate) throw new Error(`seeded loans accrue from ${options.disbursedOn} to before their first due date ${lines[0]!.dueDate}; not through ${accruedThrough}`);
  const accrued = interestDayByDay(amount, rate, options.disbursedOn, accruedThrough);
  const funded = options.funded ?? { kopecks: 0n, every: 1 };

  const offerId = await db.transaction(async (tx) => {
    await tx.query(`INSERT INTO loan_products (code, created_at, created_by) VALUES ($1, now(), $2) ON CONFLICT DO NOTHING`, [product.code, user.id]);
    await tx.query(`INSERT INTO loan_product_versions (product_code, version, terms, created_at, created_by) VALUES ($1, $2, $3::jsonb, now(), $4) ON CONFLICT DO NOTHING`, [product.code, product.version, JSON.stringify(product.terms), user.id]);
    const [cycle] = await tx.query<{ id: bigint }>(`INSERT INTO price_cycles (stream, at, accepted_kopecks, published_kopecks, status, inputs, detail) VALUES ('replay:seed', $1, $2, $2, 'normal', '[]', '{"seed": true}') RETURNING id`, [valueTime, price]);
    await tx.query(`INSERT INTO borrowers (ref, kind, name, inn, ogrn, kpp, region_code, address, created_by)
                    VALUES ($1, 'company', 'Seed offer holder', $2, $3, '773601001', '77', 'Moscow', $4) ON CONFLICT (ref) DO NOTHING`, [`SB-${prefix}-0`, innFor(prefix, 0), ogrnFor(prefix, 0), user.id]);
    const [app] = await tx.query<{ id: bigint }>(`INSERT INTO loan_applications (borrower_id, product_code, product_version, amount_kopecks, months, repayment_type, collateral_sats, status, created_by, created_at)
                    SELECT id, $7, $8, $2, $3, $4, $5, 'approved', $6, now() FROM borrowers WHERE ref = $1 RETURNING id`, [`SB-${prefix}-0`, amount, months, type, sats, user.id, product.code, product.version]);
    const [offer] = await tx.query<{ id: bigint }>(`INSERT INTO loan_offers (application_id, created_at, valid_until, planned_start, rate_millionths, fee_kopecks, price_kopecks, price_cycle_id, collateral_required_sats, schedule, total_interest_kopecks, total_cost_kopecks, compliance, blocking_reasons)
                    VALUES ($1, now(), now(), $2, $3, 0, $7, $4, $5, '{}', $6, $6, '{"seed": true}', '{}') RETURNING id`, [app!.id, options.disbursedOn, rate, cycle!.id, sats, schedule.totals.interest, price]);
    return offer!.id;
  });

  // Every id the seed writes is drawn up front for all its loans, in loan order (loan n of the
  // seed has loan id first + n - 1, seven ledger accounts from 7(n - 1) on, one entry, one
  // application): chunks can then be written side by side and still number the loans as one
  // after another would. The seed runs alone (the backtest's database is its own); a concurrent
  // insert would meet a duplicate key, never a wrong row.
  const [first] = await db.query<{ loan: bigint; account: bigint; entry: bigint; application: bigint }>(
    `SELECT setval('loans_id_seq', nextval('loans_id_seq') + $1::int8 - 1) - $1::int8 + 1 AS loan,
            setval(pg_get_serial_sequence('ledger_accounts', 'id'), nextval(pg_get_serial_sequence('ledger_accounts', 'id')) + 7 * $1::int8 - 1) - 7 * $1::int8 + 1 AS account,
            setval(pg_get_serial_sequence('ledger_entries', 'id'), nextval(pg_get_serial_sequence('ledger_entries', 'id')) + $1::int8 - 1) - $1::int8 + 1 AS entry,
            setval(pg_get_serial_sequence('loan_applications', 'id'), nextval(pg_get_serial_sequence('loan_applications', 'id')) + $1::int8 - 1) - $1::int8 + 1 AS application`, [options.count]);
  const borrowersTotal = Math.ceil(options.count / perBorrower);
  const chunks: { from: number; to: number }[] = [];
  for (let made = 0; made < options.count; made += chunk) chunks.push({ from: made + 1, to: Math.min(made + chunk, options.count) });
  const writeChunk = async ({ from, to }: { from: number; to: number }) => {
    await db.transaction(async (tx) => {
      const run = profiledQuery(tx, options.profile);
      const firstBorrower = offset + Math.floor((from - 1) / perBorrower) + 1;
      const lastBorrower = offset + Math.floor((to - 1) / perBorrower) + 1;
      await run('borrowers', `INSERT INTO borrowers (ref, kind, name, inn, ogrn, kpp, region_code, address, bik, account, created_by)
                      SELECT 'SB-' || $3 || '-' || i, 'company', 'Seeded farm ' || i, $4 || lpad(i::text, 8, '0'), $5 || lpad(i::text, 9, '0'), '773601001', '77', 'Moscow', '044525225', '40702810380000000015', $6
                        FROM generate_series($1::int, $2::int) i ON CONFLICT (ref) DO NOTHING`,
        [firstBorrower, lastBorrower, prefix, innPrefix(prefix), ogrnPrefix(prefix), user.id]);
      await run('settlement accounts', `INSERT INTO ledger_accounts (chart_code, subledger_key, currency)
                      SELECT 'borrower_settlement', 'SB-' || $3 || '-' || i, 'RUB' FROM generate_series($1::int, $2::int) i ON CONFLICT DO NOTHING`, [firstBorrower, lastBorrower, prefix]);
      // With the ids drawn above every row is written once, complete: no second pass over the loans
      // (an update of every loan row also ran the loans' risk trigger over the chunk).
      await tx.query(`CREATE TEMP TABLE IF NOT EXISTS seed_map (n int, loan_id int8, ref text, app_id int8, borrower_id int8, acc_settlement int8, sats int8, entry_id int8,
                        acc_principal int8, acc_principal_overdue int8, acc_interest int8, acc_interest_overdue int8, acc_penalty int8, acc_fee int8, acc_collateral int8, first_of_borrower boolean, funded boolean) ON COMMIT DELETE ROWS`);
      await run('ids', `INSERT INTO seed_map (n, loan_id, app_id, ref, borrower_id, acc_settlement, sats, entry_id, acc_principal, acc_principal_overdue, acc_interest, acc_interest_overdue, acc_penalty, acc_fee, acc_collateral, first_of_borrower, funded)
                      SELECT x.g, x.loan_id, $12::int8 + x.g - 1, 'LN-' || x.loan_id, b.id, s.id, $6::int8 + (x.loan_id * 2654435761) % ($7::int8 - $6::int8 + 1),
                             x.entry_id,
                             x.acc, x.acc + 1, x.acc + 2, x.acc + 3, x.acc + 4, x.acc + 5, x.acc + 6,
                             (x.g - 1) % $3 = 0, ($5 + (x.g - 1) / $3 + 1) % $9 = 0
                        FROM (SELECT g, $8::int8 + g - 1 AS loan_id, $10::int8 + 7 * (g - 1) AS acc, $11::int8 + g - 1 AS entry_id FROM generate_series($1::int, $2::int) g) x
                        JOIN borrowers b ON b.ref = 'SB-' || $4 || '-' || ($5 + (x.g - 1) / $3 + 1)
                        JOIN ledger_accounts s ON s.chart_code = 'borrower_settlement' AND s.subledger_key = b.ref`,
        [from, to, perBorrower, prefix, offset, range.min, range.max, first!.loan, funded.every, first!.account, first!.entry, first!.application]);
      await run('applications', `INSERT INTO loan_applications (id, borrower_id, product_code, product_version, amount_kopecks, months, repayment_type, collateral_sats, status, created_by, created_at)
                      OVERRIDING SYSTEM VALUE
                      SELECT app_id, borrower_id, $5, $6, $1, $2, $3, sats, 'approved', $4, now() FROM seed_map`, [amount, months, type, user.id, product.code, product.version]);
      await run('loans', `INSERT INTO loan_terms (id, ref, application_id, offer_id, borrower_id, borrower_kind, product_code, product_version, amount_kopecks, months, repayment_type,
                        rate_kind, penalty_millionths_per_day, fee_kopecks, wf_penalty, wf_interest_overdue, wf_principal_overdue, wf_interest, wf_principal, wf_fee,
                        approved_at, disbursed_on, maturity_on, schedule_version,
                        acc_principal, acc_principal_overdue, acc_interest, acc_interest_overdue, acc_penalty, acc_fee, acc_settlement)
                      SELECT m.loan_id, m.ref, m.app_id, $1, m.borrower_id, 'company', $7, $8, $2, $3, $4,
                        'fixed', $9, 0, $10, $11, $12, $13, $14, $15, $16, $5, $6, 1,
                        m.acc_principal, m.acc_principal_overdue, m.acc_interest, m.acc_interest_overdue, m.acc_penalty, m.acc_fee, m.acc_settlement FROM seed_map m`,
        [offerId, amount, months, type, options.disbursedOn, lines[lines.length - 1]!.dueDate, product.code, product.version, penalty,
          position('penalty'), position('interest_overdue'), position('principal_overdue'), position('interest'), position('principal'), position('fee'), valueTime]);
      await run('loan balances', `INSERT INTO loan_balances (loan_id, status, accrued_through, principal, interest, interest_remainder, rate_millionths)
                      SELECT m.loan_id, 'active', $1, $2, $3, $4, $5 FROM seed_map m`, [accruedThrough, amount, accrued.kopecks, accrued.remainder, rate]);
      await run('loan accounts', `INSERT INTO ledger_accounts (id, chart_code, subledger_key, currency) OVERRIDING SYSTEM VALUE
                      SELECT m.acc_principal + c.k, c.code, m.ref, c.currency FROM seed_map m
                       CROSS JOIN (VALUES (0, 'loan_principal', 'RUB'), (1, 'loan_principal_overdue', 'RUB'), (2, 'interest_receivable', 'RUB'), (3, 'interest_overdue', 'RUB'),
                                          (4, 'penalty_receivable', 'RUB'), (5, 'fee_receivable', 'RUB'), (6, 'collateral_pledged', 'BTC')) AS c (k, code, currency)`);
      await run('schedule versions', `INSERT INTO loan_schedule_versions (loan_id, version, kind, reason, business_date, created_at) SELECT loan_id, 1, 'disbursement', 'seeded', $1, now() FROM seed_map`, [options.disbursedOn]);
      await run('schedule lines', `INSERT INTO loan_schedule_lines (loan_id, version, number, due_date, days, principal, interest, balance)
                      SELECT m.loan_id, 1, t.number, t.due_date, t.days, t.principal, t.interest, t.balance
                        FROM seed_map m CROSS JOIN unnest($1::int[], $2::date[], $3::int[], $4::int8[], $5::int8[], $6::int8[]) AS t (number, due_date, days, principal, interest, balance)`,
        [lines.map((l) => l.number), lines.map((l) => l.dueDate), lines.map((l) => l.days), lines.map((l) => l.principal), lines.map((l) => l.interest), lines.map((l) => l.balance)]);
      await run('collateral (with the risk refresh)', `INSERT INTO collateral_positions (loan_id, sats, state, custodian_ref, declared_at, declared_by, confirmed_at) SELECT loan_id, sats, 'pledged', 'SEED-' || $2 || '-' || loan_id, $3, $1, $3 FROM seed_map`, [user.id, prefix, valueTime]);
      // One disbursement entry per loan: principal out of the correspondent account, BTC into custody.
      await run('entries', `INSERT INTO ledger_entries (id, idempotency_key, content_hash, business_date, value_time, reason, kind) OVERRIDING SYSTEM VALUE
                      SELECT entry_id, 'seed:' || ref, encode(sha256(convert_to('seed|' || ref || '|' || $3::text || '|' || sats::text, 'UTF8')), 'hex'), $1, $2, 'Seeded loan ' || ref || ' disbursed, collateral in custody', 'disbursement'
                        FROM seed_map`, [options.disbursedOn, valueTime, amount]);
      // A funded borrower's money arrives with its first loan's entry.
      await run('postings', `INSERT INTO ledger_postings (entry_id, line, account_id, currency, amount, value_time)
                      SELECT m.entry_id, v.line, v.account, v.currency, v.amount, $1
                        FROM seed_map m
                        CROSS JOIN LATERAL (VALUES (0, m.acc_principal, 'RUB', $2::int8), (1, $3::int8, 'RUB', -$2::int8), (2, $4::int8, 'BTC', m.sats), (3, m.acc_collateral, 'BTC', -m.sats),
                                                   (4, m.acc_interest, 'RUB', $5::int8), (5, $6::int8, 'RUB', -$5::int8),
                                                   (6, m.acc_settlement, 'RUB', CASE WHEN m.first_of_borrower AND m.funded THEN -$7::int8 ELSE 0 END),
                                                   (7, $3::int8, 'RUB', CASE WHEN m.first_of_borrower AND m.funded THEN $7::int8 ELSE 0 END)) AS v (line, account, currency, amount)
                       WHERE v.amount <> 0`,
        [valueTime, amount, await bankAccountId(tx, 'cash_correspondent'), await bankAccountId(tx, 'collateral_held'), accrued.kopecks, await bankAccountId(tx, 'interest_income'), funded.kopecks]);
      if (funded.kopecks > 0n) {
        await run('settlement money', `UPDATE borrowers b SET settlement_kopecks = b.settlement_kopecks + $1::int8
                                        FROM seed_map m WHERE m.borrower_id = b.id AND m.first_of_borrower AND m.funded`, [funded.kopecks]);
      }
    });
  };
  // PostgreSQL writes chunks side by side (two: the machine's two cores); PGlite has one connection.
  const workers = options.workers ?? (db.engine === 'postgres' ? 2 : 1);
  let next = 0;
  await Promise.all(Array.from({ length: workers }, async () => {
    while (next < chunks.length) await writeChunk(chunks[next++]!);
  }));
  return { loans: options.count, borrowers: borrowersTotal };
}


// Seeded INNs and OGRNs have the right lengths (the database checks those) but not check digits:
// the seed is not a borrower anyone can meet.
function innPrefix(prefix: string): string {
  return String(10 + (hash(prefix) % 90));
}
function ogrnPrefix(prefix: string): string {
  return `10${String(hash(prefix) % 100).padStart(2, '0')}`;
}
function innFor(prefix: string, i: number): string {
  return `${innPrefix(prefix)}${String(i).padStart(8, '0')}`;
}
function ogrnFor(prefix: string, i: number): string {
  return `${ogrnPrefix(prefix)}${String(i).padStart(9, '0')}`;
}
function hash(text: string): number {
  let h = 7;
  for (const c of text) h = (h * 31 + c.charCodeAt(0)) % 1_000_003;
  return h;
}

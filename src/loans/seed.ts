import type { BusinessCalendar } from '../calendar/business.js';
import type { Database } from '../db/database.js';
import { systemUser } from '../identity/identity-repository.js';
import { bankAccountId } from '../ledger/ledger-repository.js';
import { rateFromPercent } from './interest.js';
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

  let made = 0;
  const borrowersTotal = Math.ceil(options.count / perBorrower);
  while (made < options.count) {
    const size = Math.min(chunk, options.count - made);
    const from = made + 1;
    const to = made + size;
    await db.transaction(async (tx) => {
      const firstBorrower = offset + Math.floor((from - 1) / perBorrower) + 1;
      const lastBorrower = offset + Math.floor((to - 1) / perBorrower) + 1;
      await tx.query(`INSERT INTO borrowers (ref, kind, name, inn, ogrn, kpp, region_code, address, bik, account, created_by)
                      SELECT 'SB-' || $3 || '-' || i, 'company', 'Seeded farm ' || i, $4 || lpad(i::text, 8, '0'), $5 || lpad(i::text, 9, '0'), '773601001', '77', 'Moscow', '044525225', '40702810380000000015', $6
                        FROM generate_series($1::int, $2::int) i ON CONFLICT (ref) DO NOTHING`,
        [firstBorrower, lastBorrower, prefix, innPrefix(prefix), ogrnPrefix(prefix), user.id]);
      await tx.query(`INSERT INTO ledger_accounts (chart_code, subledger_key, currency)
                      SELECT 'borrower_settlement', 'SB-' || $3 || '-' || i, 'RUB' FROM generate_series($1::int, $2::int) i ON CONFLICT DO NOTHING`, [firstBorrower, lastBorrower, prefix]);
      await tx.query(`CREATE TEMP TABLE IF NOT EXISTS seed_map (n int, loan_id int8, app_id int8, borrower_id int8, sats int8) ON COMMIT DELETE ROWS`);
      await tx.query(`INSERT INTO seed_map (n, loan_id, borrower_id)
                      SELECT g, nextval('loans_id_seq'), b.id FROM generate_series($1::int, $2::int) g
                        JOIN borrowers b ON b.ref = 'SB-' || $4 || '-' || ($5 + (g - 1) / $3 + 1)`, [from, to, perBorrower, prefix, offset]);
      await tx.query('UPDATE seed_map SET sats = $1::int8 + (loan_id * 2654435761) % ($2::int8 - $1::int8 + 1)', [range.min, range.max]);
      await tx.query(`WITH apps AS (
                        INSERT INTO loan_applications (borrower_id, product_code, product_version, amount_kopecks, months, repayment_type, collateral_sats, status, created_by, created_at)
                        SELECT borrower_id, $6, $7, $1, $2, $3, sats, 'approved', $4, now() FROM seed_map ORDER BY n RETURNING id, borrower_id)
                      UPDATE seed_map m SET app_id = a.id FROM (SELECT id, row_number() OVER (ORDER BY id) AS r FROM apps) a
                       WHERE m.n = a.r + $5 - 1`, [amount, months, type, user.id, from, product.code, product.version]);
      await tx.query(`INSERT INTO loans (id, ref, application_id, offer_id, borrower_id, borrower_kind, product_code, product_version, amount_kopecks, months, repayment_type,
                        rate_kind, rate_millionths, penalty_millionths_per_day, fee_kopecks, wf_penalty, wf_interest_overdue, wf_principal_overdue, wf_interest, wf_principal, wf_fee,
                        status, approved_at, disbursed_on, maturity_on, accrued_through, schedule_version, principal)
                      SELECT m.loan_id, 'LN-' || m.loan_id, m.app_id, $1, m.borrower_id, 'company', $8, $9, $2, $3, $4,
                        'fixed', $5, $10, 0, $11, $12, $13, $14, $15, $16, 'active', $17, $6, $7, $6, 1, $2 FROM seed_map m`,
        [offerId, amount, months, type, rate, options.disbursedOn, lines[lines.length - 1]!.dueDate, product.code, product.version, penalty,
          position('penalty'), position('interest_overdue'), position('principal_overdue'), position('interest'), position('principal'), position('fee'), valueTime]);
      await tx.query(`INSERT INTO ledger_accounts (chart_code, subledger_key, currency)
                      SELECT c.code, 'LN-' || m.loan_id, c.currency FROM seed_map m
                       CROSS JOIN (VALUES ('loan_principal', 'RUB'), ('loan_principal_overdue', 'RUB'), ('interest_receivable', 'RUB'), ('interest_overdue', 'RUB'),
                                          ('penalty_receivable', 'RUB'), ('fee_receivable', 'RUB'), ('collateral_pledged', 'BTC')) AS c (code, currency)`);
      await tx.query(`UPDATE loans l SET acc_principal = a.p, acc_principal_overdue = a.po, acc_interest = a.i, acc_interest_overdue = a.io, acc_penalty = a.pen, acc_fee = a.fee, acc_settlement = s.id
                        FROM (SELECT subledger_key,
                                     max(id) FILTER (WHERE chart_code = 'loan_principal') AS p, max(id) FILTER (WHERE chart_code = 'loan_principal_overdue') AS po,
                                     max(id) FILTER (WHERE chart_code = 'interest_receivable') AS i, max(id) FILTER (WHERE chart_code = 'interest_overdue') AS io,
                                     max(id) FILTER (WHERE chart_code = 'penalty_receivable') AS pen, max(id) FILTER (WHERE chart_code = 'fee_receivable') AS fee
                                FROM ledger_accounts WHERE subledger_key IN (SELECT 'LN-' || loan_id FROM seed_map) GROUP BY subledger_key) a,
                             seed_map m JOIN borrowers b ON b.id = m.borrower_id JOIN ledger_accounts s ON s.chart_code = 'borrower_settlement' AND s.subledger_key = b.ref
                       WHERE a.subledger_key = l.ref AND m.loan_id = l.id`);
      await tx.query(`INSERT INTO loan_schedule_versions (loan_id, version, kind, reason, business_date, created_at) SELECT loan_id, 1, 'disbursement', 'seeded', $1, now() FROM seed_map`, [options.disbursedOn]);
      await tx.query(`INSERT INTO loan_schedule_lines (loan_id, version, number, due_date, days, principal, interest, balance)
                      SELECT m.loan_id, 1, t.number, t.due_date, t.days, t.principal, t.interest, t.balance
                        FROM seed_map m CROSS JOIN unnest($1::int[], $2::date[], $3::int[], $4::int8[], $5::int8[], $6::int8[]) AS t (number, due_date, days, principal, interest, balance)`,
        [lines.map((l) => l.number), lines.map((l) => l.dueDate), lines.map((l) => l.days), lines.map((l) => l.principal), lines.map((l) => l.interest), lines.map((l) => l.balance)]);
      await tx.query(`INSERT INTO collateral_positions (loan_id, sats, state, custodian_ref, declared_at, declared_by, confirmed_at) SELECT loan_id, sats, 'pledged', 'SEED-' || $2 || '-' || loan_id, $3, $1, $3 FROM seed_map`, [user.id, prefix, valueTime]);
      // One disbursement entry per loan: principal out of the correspondent account, BTC into custody.
      await tx.query(`CREATE TEMP TABLE IF NOT EXISTS seed_entries (loan_id int8, ref text, entry_id int8, sats int8) ON COMMIT DELETE ROWS`);
      await tx.query(`INSERT INTO seed_entries SELECT loan_id, 'LN-' || loan_id, nextval(pg_get_serial_sequence('ledger_entries', 'id')), sats FROM seed_map`);
      await tx.query(`INSERT INTO ledger_entries (id, idempotency_key, content_hash, business_date, value_time, reason, kind) OVERRIDING SYSTEM VALUE
                      SELECT entry_id, 'seed:' || ref, encode(sha256(convert_to('seed|' || ref || '|' || $3::text || '|' || sats::text, 'UTF8')), 'hex'), $1, $2, 'Seeded loan ' || ref || ' disbursed, collateral in custody', 'disbursement'
                        FROM seed_entries`, [options.disbursedOn, valueTime, amount]);
      await tx.query(`INSERT INTO ledger_postings (entry_id, line, account_id, currency, amount, value_time)
                      SELECT e.entry_id, v.line, v.account, v.currency, v.amount, $1
                        FROM seed_entries e JOIN loans l ON l.id = e.loan_id
                        JOIN ledger_accounts cp ON cp.chart_code = 'collateral_pledged' AND cp.subledger_key = e.ref
                        CROSS JOIN LATERAL (VALUES (0, l.acc_principal, 'RUB', $2::int8), (1, $3::int8, 'RUB', -$2::int8), (2, $4::int8, 'BTC', e.sats), (3, cp.id, 'BTC', -e.sats)) AS v (line, account, currency, amount)`,
        [valueTime, amount, await bankAccountId(tx, 'cash_correspondent'), await bankAccountId(tx, 'collateral_held')]);
    });
    made = to;
  }
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

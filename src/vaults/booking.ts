import { appendAudit } from '../audit/audit-repository.js';
import type { Queryable } from '../db/database.js';
import { systemUser } from '../identity/identity-repository.js';
import { postEntries } from '../ledger/ledger-repository.js';
import { loanEvent, openBusinessDay } from '../loans/loan-store.js';
import { formatSats } from '../money/money.js';

/**
 * Vault coins on the books. A coin that reaches its vault's confirmations becomes a collateral
 * position of the vault's loan, posted to the BTC memo accounts (collateral held against the
 * loan's pledge) exactly as a custodian-confirmed deposit is; the risk engine's triggers on
 * collateral_positions refresh the loan's LTV in the same transaction. A coin taken back by a deep
 * reorganisation is reversed: a reversal entry, the position marked 'reversed'. Each is audited
 * as the system's act, with the coin and the amount.
 */

export type CountedCoin = { readonly txid: string; readonly vout: number; readonly vault_id: bigint; readonly sats: bigint; readonly confirmations: number };

const LIVE = ['approved', 'active', 'overdue'];

/** What every booking of one block shares: the system's user and the open business day (read once). */
export interface BookingContext { readonly system: { readonly id: bigint; readonly username: string }; readonly day: string; readonly at: Date }

export async function bookingContext(tx: Queryable, at: Date): Promise<BookingContext> {
  const system = await systemUser(tx);
  return { system: { id: system.id, username: system.username }, day: await openBusinessDay(tx, at), at };
}

export async function bookCoin(tx: Queryable, coin: CountedCoin, context: BookingContext): Promise<bigint | null> {
  const { system, day, at } = context;
  const [loan] = await tx.query<{ id: bigint; ref: string; status: string }>('SELECT l.id, l.ref, l.status FROM vaults v JOIN loans l ON l.id = v.loan_id WHERE v.id = $1', [coin.vault_id]);
  // A coin paid to the vault of a loan that is not live (repaid, written off) is not collateral:
  // it stays on record as the vault's coin, for treasury to return.
  if (loan === undefined || !LIVE.includes(loan.status)) return null;
  const state = loan.status === 'approved' ? 'confirmed' : 'pledged';
  const [position] = await tx.query<{ id: bigint }>(`INSERT INTO collateral_positions (loan_id, sats, state, declared_at, declared_by, confirmed_at) VALUES ($1, $2, $3, $4, $5, $4) RETURNING id`, [loan.id, coin.sats, state, at, system.id]);
  const posted = await postEntries(tx, [{
    idempotencyKey: `collateral:${position!.id}:chain`, kind: 'collateral_in', businessDate: day, valueTime: at,
    reason: `BTC collateral for ${loan.ref} in its vault: coin ${coin.txid}:${coin.vout} with ${coin.confirmations} confirmations`,
    postings: [{ account: { chartCode: 'collateral_held', subledgerKey: '' }, currency: 'BTC', amount: coin.sats }, { account: { chartCode: 'collateral_pledged', subledgerKey: loan.ref }, currency: 'BTC', amount: -coin.sats }],
  }]);
  if (!posted.ok) throw new Error(posted.error.message);
  await tx.query('UPDATE collateral_positions SET ledger_entry_id = $2 WHERE id = $1', [position!.id, posted.value[0]!.entryId]);
  await tx.query('UPDATE vault_coins SET position_id = $3 WHERE txid = $1 AND vout = $2', [coin.txid, coin.vout, position!.id]);
  const details = { positionId: position!.id.toString(), coin: `${coin.txid}:${coin.vout}`, btc: formatSats(coin.sats), confirmations: coin.confirmations };
  await loanEvent(tx, loan.id, day, 'collateral_on_chain', details, at);
  await appendAudit(tx, { actorUserId: system.id, actor: system.username, action: 'vault.coin.count', target: `loan:${loan.ref}`, details: { ...details, amounts: { BTC: formatSats(coin.sats) } } }, at);
  return position!.id;
}

/** Reverses a counted coin's booking (a reorganisation took the coin back). */
export async function reverseCoin(tx: Queryable, coin: { readonly txid: string; readonly vout: number; readonly position_id: bigint | null }, reason: string, at: Date): Promise<void> {
  if (coin.position_id === null) return;
  const [position] = await tx.query<{ id: bigint; loan_id: bigint; sats: bigint; state: string; ref: string }>('SELECT p.id, p.loan_id, p.sats, p.state, l.ref FROM collateral_positions p JOIN loans l ON l.id = p.loan_id WHERE p.id = $1 FOR UPDATE', [coin.position_id]);
  if (position === undefined || (position.state !== 'confirmed' && position.state !== 'pledged')) return;
  const system = await systemUser(tx);
  const day = await openBusinessDay(tx, at);
  const posted = await postEntries(tx, [{
    idempotencyKey: `collateral:${position.id}:chain-reversal`, kind: 'collateral_out', businessDate: day, valueTime: at,
    reason: `Reversal: coin ${coin.txid}:${coin.vout} of ${position.ref}'s vault is no longer on the best chain (${reason})`,
    postings: [{ account: { chartCode: 'collateral_pledged', subledgerKey: position.ref }, currency: 'BTC', amount: position.sats }, { account: { chartCode: 'collateral_held', subledgerKey: '' }, currency: 'BTC', amount: -position.sats }],
  }]);
  if (!posted.ok) throw new Error(posted.error.message);
  await tx.query(`UPDATE collateral_positions SET state = 'reversed', released_at = $2 WHERE id = $1`, [position.id, at]);
  await tx.query('UPDATE vault_coins SET position_id = NULL WHERE txid = $1 AND vout = $2', [coin.txid, coin.vout]);
  const details = { positionId: position.id.toString(), coin: `${coin.txid}:${coin.vout}`, btc: formatSats(position.sats), reason };
  await loanEvent(tx, position.loan_id, day, 'collateral_on_chain_reversed', details, at);
  await appendAudit(tx, { actorUserId: system.id, actor: system.username, action: 'vault.coin.reverse', target: `loan:${position.ref}`, details: { ...details, amounts: { BTC: formatSats(position.sats) } } }, at);
}

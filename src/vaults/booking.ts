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

/**
 * Books a vault spend that has the vault's confirmations, in the watcher's transaction for the
 * block that gives them. Its coins' positions close ('released' to the borrower; 'spent' when the
 * BTC went to the desk, where a new pledged position carries it until the sale is booked). The
 * memo accounts lose what left: the payment (not the desk's, still pledged), the network fee and
 * the change, each an entry of its own; the change comes back as the vault's own coin, counted in
 * the same transaction (the watcher's next step). A repaid loan's release closes its release
 * instruction. Audited as the system's act.
 */
export async function bookSpend(tx: Queryable, spendId: bigint, height: number, at: Date): Promise<void> {
  const [spend] = await tx.query<{ id: bigint; purpose: string; liquidation_id: bigint | null; sats: bigint; fee_sats: bigint; change_sats: bigint; txid: string; to_address: string; loan_id: bigint; ref: string }>(
    `SELECT s.id, s.purpose, s.liquidation_id, s.sats, s.fee_sats, s.change_sats, s.txid, s.to_address, l.id AS loan_id, l.ref
       FROM vault_spends s JOIN vaults v ON v.id = s.vault_id JOIN loans l ON l.id = v.loan_id WHERE s.id = $1 FOR UPDATE OF s`, [spendId]);
  if (spend === undefined) throw new Error(`no vault spend ${spendId}`);
  const inputs = await tx.query<{ position_id: bigint; sats: bigint }>(
    `SELECT p.id AS position_id, p.sats FROM vault_coins c JOIN collateral_positions p ON p.id = c.position_id
      WHERE c.spent_txid = $1 AND p.state IN ('confirmed', 'pledged') FOR UPDATE OF p`, [spend.txid]);
  const live = inputs.reduce((sum, input) => sum + input.sats, 0n);
  const toDesk = spend.purpose === 'liquidation';
  const kept = toDesk ? (spend.sats < live ? spend.sats : live) : 0n;
  const system = await systemUser(tx);
  const day = await openBusinessDay(tx, at);
  await tx.query(`UPDATE collateral_positions SET state = $2, released_at = $3, vault_spend_id = $4 WHERE id = ANY ($1::int8[])`, [inputs.map((i) => i.position_id), toDesk ? 'spent' : 'released', at, spend.id]);
  if (kept > 0n) {
    await tx.query(`INSERT INTO collateral_positions (loan_id, sats, state, declared_at, declared_by, confirmed_at, liquidation_id, vault_spend_id) VALUES ($1, $2, 'pledged', $3, $4, $3, $5, $6)`,
      [spend.loan_id, kept, at, system.id, spend.liquidation_id, spend.id]);
  }
  // What left the books: the whole of the coins' live positions less what the desk holds pledged.
  // Normally that is the payment, the fee and the change exactly, booked apart so the fee shows;
  // if a position of the coins was closed meanwhile (a deep reorganisation), the rest in one entry.
  const parts = live === spend.sats + spend.fee_sats + spend.change_sats
    ? [{ key: 'paid', sats: toDesk ? 0n : spend.sats, reason: `BTC collateral of ${spend.ref} paid from its vault to ${spend.to_address} (spend ${spend.id}, transaction ${spend.txid})` },
       { key: 'fee', sats: spend.fee_sats, reason: `Network fee of ${spend.ref}'s vault spend ${spend.id} (transaction ${spend.txid}), paid from its collateral` },
       { key: 'change', sats: spend.change_sats, reason: `Change of ${spend.ref}'s vault spend ${spend.id} back to its vault: a new coin, counted again as it confirms` }]
    : [{ key: 'out', sats: live - kept, reason: `BTC collateral of ${spend.ref} spent from its vault (spend ${spend.id}, transaction ${spend.txid}); some of its coins were off the books already` }];
  for (const part of parts.filter((p) => p.sats > 0n)) {
    const posted = await postEntries(tx, [{
      idempotencyKey: `vault-spend:${spend.id}:${part.key}`, kind: 'collateral_out', businessDate: day, valueTime: at, reason: part.reason,
      postings: [{ account: { chartCode: 'collateral_pledged', subledgerKey: spend.ref }, currency: 'BTC', amount: part.sats }, { account: { chartCode: 'collateral_held', subledgerKey: '' }, currency: 'BTC', amount: -part.sats }],
    }]);
    if (!posted.ok) throw new Error(posted.error.message);
  }
  // A repaid loan's release instruction is done when nothing of its collateral is held any more
  // (a loan with custodial positions too releases those by the custodial release).
  if (spend.purpose === 'release') {
    await tx.query(`UPDATE collateral_releases SET status = 'executed', executed_at = $2 WHERE loan_id = $1 AND status = 'open'
                      AND NOT EXISTS (SELECT 1 FROM collateral_positions p WHERE p.loan_id = $1 AND p.state IN ('confirmed', 'pledged'))`, [spend.loan_id, at]);
  }
  await tx.query(`UPDATE vault_spends SET state = 'confirmed', confirmed_at = $2, confirmed_height = $3 WHERE id = $1`, [spend.id, at, height]);
  const details = { spendId: spend.id.toString(), purpose: spend.purpose, txid: spend.txid, to: spend.to_address, btc: formatSats(spend.sats), feeBtc: formatSats(spend.fee_sats), changeBtc: formatSats(spend.change_sats), height };
  await loanEvent(tx, spend.loan_id, day, spend.purpose === 'release' ? 'collateral_released' : spend.purpose === 'excess' ? 'collateral_excess_released' : 'collateral_to_desk', details, at);
  await appendAudit(tx, { actorUserId: system.id, actor: system.username, action: 'vault.spend.confirm', target: `loan:${spend.ref}`, details: { ...details, amounts: { BTC: formatSats(live - kept) } } }, at);
}

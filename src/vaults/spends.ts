import { Psbt } from '@bitcoinerlab/descriptors';
import { address as addressCodec } from 'bitcoinjs-lib';
import { SourceError } from '../adapters/http.js';
import { appendAudit, type AuditEvent } from '../audit/audit-repository.js';
import { auditApproved, type ApprovalAction } from '../approvals/approvals.js';
import type { Database, Queryable } from '../db/database.js';
import { systemUser } from '../identity/identity-repository.js';
import { refuse } from '../loans/loan-errors.js';
import { loadLoan, loanEvent, openBusinessDay } from '../loans/loan-store.js';
import { loanOutcome } from '../loans/origination.js';
import { formatSats, parseSats, SATS_PER_BTC } from '../money/money.js';
import { currentPrice } from '../prices/current.js';
import { RATE_SCALE } from '../loans/interest.js';
import { AddressChain, bitcoinNetwork, parseDescriptor, type ParsedDescriptor, type VaultNetwork } from './descriptor.js';
import type { ChainBackend } from './esplora.js';
import { boundedFeeRate, buildSpend, checkAndFinalise, inspectSigned, SpendError, type SpendProposal, type SpendRequest, type VaultCoin } from './psbt.js';
import { ensureAddress } from './vault-store.js';

/**
 * Spending a vault, with the database: what a spend may pay and where (the domain rules), its
 * four-eyes proposal that builds the unsigned PSBT, the signers' PSBTs as they come back, the
 * four-eyes finalisation, the broadcast through the chain backend, and (from the watcher) its
 * booking once it has the vault's confirmations.
 *
 * Three purposes, each paying to an address nobody in the bank can choose alone:
 * - release: a repaid loan's whole vault to the release address the borrower gave (only the
 *   borrower sets it), less the network fee;
 * - excess: an amount to the same address while the loan lives, when the LTV after it (the amount
 *   and the fee gone, at the current price) is at most the product's target LTV;
 * - liquidation: the amount a liquidation sells, to the trading desk's deposit address (the
 *   bank's configuration), change back to the vault.
 * The network fee comes out of the vault's coins (the borrower's collateral) in every case; it is
 * booked as an entry of its own on the BTC memo accounts.
 */

/** What spending needs from the service: the backend, the fee policy, the desk's address. */
export interface ChainSettings {
  readonly backend: ChainBackend;
  /** The fee rate's floor and cap, sat per 1,000 vbytes. */
  readonly feeFloorKvb: number;
  readonly feeCapKvb: number;
  /** The confirmation target the estimate is asked for, blocks. */
  readonly feeTargetBlocks: number;
  /** The trading desk's deposit address liquidations pay to (for the vaults' network). */
  readonly deskAddress: string | undefined;
  readonly pricesStaleAfterSeconds: number;
  readonly now: () => Date;
}

export const SPEND_PURPOSES = ['release', 'excess', 'liquidation'] as const;
export type SpendPurpose = (typeof SPEND_PURPOSES)[number];

export interface SpendPayload {
  readonly loan: string;
  readonly purpose: SpendPurpose;
  /** excess: the BTC to release (decimal). */
  readonly btc?: string;
  /** liquidation: its id. */
  readonly liquidation?: string;
  /** Fixed when proposed (the backend's estimate within the floor and cap), so approval builds the same transaction. */
  readonly feeRateKvb: number;
}

type VaultRow = { id: bigint; loan_id: bigint; network: VaultNetwork; descriptor: string; frozen_at: Date | null; release_address: string | null; mode: string };

export async function loadVault(db: Queryable, loanRef: string, lock = false): Promise<VaultRow & { ref: string; status: string }> {
  const [vault] = await db.query<VaultRow & { ref: string; status: string }>(
    `SELECT v.id, v.loan_id, v.network, v.descriptor, v.frozen_at, v.release_address, v.mode, l.ref, l.status FROM vaults v JOIN loans l ON l.id = v.loan_id WHERE l.ref = $1${lock ? ' FOR UPDATE OF v' : ''}`, [loanRef]);
  return vault ?? refuse('vault_not_found', `loan ${loanRef} has no vault (its collateral is held by the custodian, or the vault is not made yet)`);
}

/** The vault's coins a spend may use: counted, unspent, still collateral, with their paying transaction. */
async function spendableCoins(db: Queryable, vaultId: bigint): Promise<VaultCoin[]> {
  const rows = await db.query<{ txid: string; vout: number; sats: bigint; address_index: number; tx_hex: string }>(
    `SELECT c.txid, c.vout, c.sats, c.address_index, c.tx_hex FROM vault_coins c JOIN collateral_positions p ON p.id = c.position_id
      WHERE c.vault_id = $1 AND c.counted_at IS NOT NULL AND c.spent_txid IS NULL AND c.tx_hex IS NOT NULL AND p.state IN ('confirmed', 'pledged')
      ORDER BY c.counted_height, c.txid, c.vout`, [vaultId]);
  return rows.map((row) => ({ txid: row.txid, vout: row.vout, sats: row.sats, index: row.address_index, txHex: row.tx_hex }));
}

/** The first address index a coin never used, from 2 (0 is the deposit address, 1 the pool payout address): where change goes. */
async function changeIndex(db: Queryable, vaultId: bigint): Promise<number> {
  const [row] = await db.query<{ next: number }>('SELECT greatest(2, coalesce(max(address_index) + 1, 2))::int4 AS next FROM vault_coins WHERE vault_id = $1', [vaultId]);
  return row!.next;
}

/** Whether `address` is one a vault of this network may pay (a standard address of that network). */
export function addressProblem(address: string, network: VaultNetwork): string | undefined {
  try {
    addressCodec.toOutputScript(address, bitcoinNetwork(network));
    return undefined;
  } catch {
    return `${address} is not a ${network} address (a bc1…/tb1…/bcrt1… segwit or taproot address, or a legacy one, of the vault's network)`;
  }
}

/** The LTV test of an excess release: debt x 10^20 <= sats x price x (10^6 - haircut) x target (all integers, ladder.ts's form). */
function withinTarget(debt: bigint, sats: bigint, price: bigint, haircut: bigint, target: bigint): boolean {
  if (debt <= 0n) return true;
  return debt * SATS_PER_BTC * RATE_SCALE * RATE_SCALE <= sats * price * (RATE_SCALE - haircut) * target;
}

/** The spend a payload asks for, built (pure, from the rows): the PSBT, its inputs and outputs, the fee. */
async function planSpend(db: Queryable, settings: ChainSettings, payload: SpendPayload): Promise<{ vault: VaultRow & { ref: string; status: string }; parsed: ParsedDescriptor; request: SpendRequest; proposal: SpendProposal; liquidationId: bigint | null }> {
  if (!(SPEND_PURPOSES as readonly string[]).includes(payload.purpose)) refuse('invalid_proposal', `purpose is one of ${SPEND_PURPOSES.join(', ')}`);
  if (!Number.isInteger(payload.feeRateKvb) || payload.feeRateKvb < settings.feeFloorKvb || payload.feeRateKvb > settings.feeCapKvb) refuse('invalid_proposal', `the fee rate is ${settings.feeFloorKvb}–${settings.feeCapKvb} sat/kvB`);
  const vault = await loadVault(db, payload.loan);
  if (vault.frozen_at !== null) refuse('vault_frozen', `the vault of ${vault.ref} is frozen (a reorganisation took back a counted coin): staff must look before it is spent`);
  const [open] = await db.query<{ id: bigint }>(`SELECT id FROM vault_spends WHERE vault_id = $1 AND state IN ('signing', 'finalised', 'broadcast')`, [vault.id]);
  if (open !== undefined) refuse('spend_open', `the vault of ${vault.ref} has spend ${open.id} in flight; finish or cancel it first`);
  const parsed = parseDescriptor(vault.descriptor, vault.network);
  const coins = await spendableCoins(db, vault.id);
  const feeRate = payload.feeRateKvb / 1_000;
  const change = await changeIndex(db, vault.id);
  let to: SpendRequest['to'];
  let liquidationId: bigint | null = null;
  if (payload.purpose === 'release') {
    const [release] = await db.query<{ status: string }>('SELECT status FROM collateral_releases WHERE loan_id = $1', [vault.loan_id]);
    if (release?.status !== 'open') refuse('release_not_open', `loan ${vault.ref} has no open release: a vault is released once its loan is repaid in full`);
    if (vault.release_address === null) refuse('release_address_missing', `the borrower of ${vault.ref} has not given a release address yet`);
    to = { address: vault.release_address };
  } else if (payload.purpose === 'excess') {
    if (!['active', 'overdue'].includes(vault.status)) refuse('loan_not_in_state', `loan ${vault.ref} is ${vault.status}: excess collateral is released from a live loan`);
    if (vault.release_address === null) refuse('release_address_missing', `the borrower of ${vault.ref} has not given a release address yet`);
    const amount = parseSats(payload.btc);
    if (!amount.ok) refuse('invalid_proposal', `btc: ${amount.error.message}`);
    to = { address: vault.release_address, sats: amount.value };
  } else {
    if (settings.deskAddress === undefined) refuse('desk_address_missing', 'no trading desk deposit address is configured (ZALOG_CHAIN_DESK_ADDRESS)');
    if (typeof payload.liquidation !== 'string' || !/^[1-9][0-9]{0,17}$/.test(payload.liquidation)) refuse('invalid_proposal', 'liquidation is the id of the loan\'s liquidation');
    const [liquidation] = await db.query<{ id: bigint; status: string; planned_sats: bigint | null }>('SELECT id, status, planned_sats FROM liquidations WHERE id = $1 AND loan_id = $2', [BigInt(payload.liquidation), vault.loan_id]);
    if (liquidation === undefined) refuse('liquidation_not_found', `loan ${vault.ref} has no liquidation ${payload.liquidation}`);
    if (!['selling', 'sold'].includes(liquidation.status) || liquidation.planned_sats === null) refuse('liquidation_not_selling', `liquidation ${liquidation.id} is ${liquidation.status}: its BTC goes to the desk while it is being sold`);
    const problem = addressProblem(settings.deskAddress, vault.network);
    if (problem !== undefined) refuse('desk_address_missing', `the configured desk address: ${problem}`);
    to = { address: settings.deskAddress, sats: liquidation.planned_sats };
    liquidationId = liquidation.id;
  }
  const request: SpendRequest = { vault: parsed, coins, to, changeIndex: change, feeRate };
  let proposal: SpendProposal;
  try {
    proposal = buildSpend(request);
  } catch (error) {
    if (error instanceof SpendError) refuse(error.code, error.message);
    throw error;
  }
  if (payload.purpose === 'excess') {
    const [risk] = await db.query<{ debt_kopecks: bigint; haircut: bigint; target: bigint }>(
      'SELECT r.debt_kopecks, lad.haircut, lad.target FROM loan_risk r JOIN risk_ladders lad ON lad.product_code = r.product_code AND lad.product_version = r.product_version WHERE r.loan_id = $1', [vault.loan_id]);
    if (risk === undefined) refuse('loan_not_in_state', `loan ${vault.ref} has no risk record yet`);
    const price = await currentPrice(db, settings.now(), settings.pricesStaleAfterSeconds);
    if (!price.ok) refuse(price.code, price.message);
    const [held] = await db.query<{ sats: bigint }>(`SELECT coalesce(sum(sats), 0)::int8 AS sats FROM collateral_positions WHERE loan_id = $1 AND state IN ('confirmed', 'pledged')`, [vault.loan_id]);
    const after = held!.sats - proposal.outputs.filter((o) => !o.change).reduce((sum, o) => sum + o.sats, 0n) - proposal.fee;
    if (!withinTarget(risk.debt_kopecks, after, price.price, risk.haircut, risk.target)) {
      refuse('excess_ltv', `releasing ${payload.btc} BTC (and the fee of ${formatSats(proposal.fee)} BTC) would leave ${formatSats(after)} BTC, above the product's target LTV of ${Number(risk.target) / 10_000}% at the current price`);
    }
  }
  return { vault, parsed, request, proposal, liquidationId };
}

const describeSpend = (payload: SpendPayload, proposal: SpendProposal, ref: string): string => {
  const paid = proposal.outputs.filter((o) => !o.change);
  const change = proposal.outputs.find((o) => o.change);
  const what = payload.purpose === 'release' ? 'release the vault' : payload.purpose === 'excess' ? 'release excess collateral' : `send liquidation ${payload.liquidation}'s BTC to the desk`;
  return `${what} of ${ref}: ${paid.map((o) => `${formatSats(o.sats)} BTC to ${o.address}`).join(', ')}${change === undefined ? '' : `, ${formatSats(change.sats)} BTC change back to the vault`}; network fee ${formatSats(proposal.fee)} BTC at ${payload.feeRateKvb / 1_000} sat/vB (${proposal.inputs.length} coin${proposal.inputs.length === 1 ? '' : 's'})`;
};

/** The fee rate to propose now: the backend's estimate held between the floor and cap (the floor when it has none). */
export async function proposedFeeRate(settings: ChainSettings): Promise<number> {
  let estimate: number | undefined;
  try {
    estimate = await settings.backend.feeRateKvb(settings.feeTargetBlocks);
  } catch (error) {
    if (error instanceof SourceError) refuse('chain_unavailable', `the chain backend gave no fee estimate: ${error.message}`);
    throw error;
  }
  return Math.ceil(boundedFeeRate(estimate, settings.feeFloorKvb, settings.feeCapKvb));
}

/** Treasury proposes a spend; a second treasurer approves and zalog builds the unsigned PSBT for the signers. */
export function spendVaultAction(settings: () => ChainSettings | undefined): ApprovalAction<SpendPayload> {
  const need = (): ChainSettings => settings() ?? refuse('chain_unavailable', 'this service has no chain backend configured (ZALOG_CHAIN_ESPLORA_URL or ZALOG_CHAIN_BITCOIND_URL)');
  return {
    type: 'vault.spend',
    proposerRoles: ['treasury'],
    defaultApproverRoles: ['treasury'],
    prepare(db, raw) {
      return loanOutcome(async () => {
        const payload = raw as SpendPayload;
        const { vault, proposal } = await planSpend(db, need(), payload);
        const clean: SpendPayload = { loan: vault.ref, purpose: payload.purpose, feeRateKvb: payload.feeRateKvb, ...(payload.btc !== undefined ? { btc: payload.btc } : {}), ...(payload.liquidation !== undefined ? { liquidation: payload.liquidation } : {}) };
        const moved = proposal.outputs.filter((o) => !o.change).reduce((sum, o) => sum + o.sats, 0n) + proposal.fee;
        return { payload: clean, summary: describeSpend(payload, proposal, vault.ref), amounts: { BTC: moved }, target: `loan:${vault.ref}` };
      });
    },
    execute(tx, payload, context) {
      return loanOutcome(async () => {
        await loadVault(tx, payload.loan, true);
        const { vault, parsed, proposal, request, liquidationId } = await planSpend(tx, need(), payload);
        await ensureAddress(tx, vault.id, parsed, request.changeIndex);
        const change = proposal.outputs.find((o) => o.change)?.sats ?? 0n;
        const paid = proposal.outputs.find((o) => !o.change)!;
        const [row] = await tx.query<{ id: bigint }>(`INSERT INTO vault_spends (vault_id, purpose, liquidation_id, state, to_address, sats, change_sats, fee_sats, fee_rate_kvb, vsize, psbt, unsigned_txid, inputs, outputs, approval_id, created_at)
                                                       VALUES ($1, $2, $3, 'signing', $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb, $13::jsonb, $14, $15) RETURNING id`,
        [vault.id, payload.purpose, liquidationId, paid.address, paid.sats, change, proposal.fee, payload.feeRateKvb, proposal.vsize, proposal.psbt, proposal.unsignedTxid,
          JSON.stringify(proposal.inputs.map((i) => ({ txid: i.txid, vout: i.vout, sats: i.sats.toString(), index: i.index }))),
          JSON.stringify(proposal.outputs.map((o) => ({ address: o.address, sats: o.sats.toString(), change: o.change }))), context.approvalId, context.now]);
        const day = await openBusinessDay(tx, context.now);
        const details = { spendId: row!.id.toString(), purpose: payload.purpose, to: paid.address, btc: formatSats(paid.sats), feeBtc: formatSats(proposal.fee), changeBtc: formatSats(change), unsignedTxid: proposal.unsignedTxid };
        await loanEvent(tx, vault.loan_id, day, 'vault_spend_built', details, context.now);
        await auditApproved(tx, context, 'vault.spend', `loan:${vault.ref}`, { ...details, amounts: { BTC: formatSats(paid.sats + proposal.fee) } });
        return { loan: vault.ref, spendId: row!.id.toString(), psbt: proposal.psbt, unsignedTxid: proposal.unsignedTxid, feeBtc: formatSats(proposal.fee) };
      });
    },
  };
}

type SpendRow = {
  id: bigint; vault_id: bigint; purpose: SpendPurpose; liquidation_id: bigint | null; state: string; to_address: string; sats: bigint; change_sats: bigint; fee_sats: bigint;
  fee_rate_kvb: number; vsize: number; psbt: string; unsigned_txid: string; inputs: { txid: string; vout: number; sats: string; index: number }[];
  outputs: { address: string; sats: string; change: boolean }[]; txid: string | null; tx_hex: string | null; created_at: Date; finalised_at: Date | null;
  broadcast_at: Date | null; broadcast_error: string | null; confirmed_at: Date | null; confirmed_height: number | null; cancelled_at: Date | null;
};

export async function loadSpend(db: Queryable, vaultId: bigint, id: string, lock = false): Promise<SpendRow> {
  if (!/^[1-9][0-9]{0,17}$/.test(id)) refuse('spend_not_found', `no spend ${id}`);
  const [row] = await db.query<SpendRow>(`SELECT * FROM vault_spends WHERE id = $1 AND vault_id = $2${lock ? ' FOR UPDATE' : ''}`, [BigInt(id), vaultId]);
  return row ?? refuse('spend_not_found', `the vault has no spend ${id}`);
}

/** The spend's request and proposal again, from its row (the coins as they were built into it). */
async function rebuilt(db: Queryable, spend: SpendRow): Promise<{ request: SpendRequest; proposal: SpendProposal }> {
  const [vault] = await db.query<{ descriptor: string; network: VaultNetwork }>('SELECT descriptor, network FROM vaults WHERE id = $1', [spend.vault_id]);
  const parsed = parseDescriptor(vault!.descriptor, vault!.network);
  const coins = await db.query<{ txid: string; vout: number; sats: bigint; address_index: number; tx_hex: string }>(
    'SELECT txid, vout, sats, address_index, tx_hex FROM vault_coins WHERE (txid, vout) IN (SELECT i->>\'txid\', (i->>\'vout\')::int4 FROM jsonb_array_elements($1::jsonb) i)', [JSON.stringify(spend.inputs)]);
  const request: SpendRequest = { vault: parsed, coins: coins.map((c) => ({ txid: c.txid, vout: c.vout, sats: c.sats, index: c.address_index, txHex: c.tx_hex })), to: { address: spend.to_address }, changeIndex: 0, feeRate: spend.fee_rate_kvb / 1_000 };
  const proposal: SpendProposal = {
    psbt: spend.psbt, unsignedTxid: spend.unsigned_txid, fee: spend.fee_sats, vsize: spend.vsize,
    inputs: spend.inputs.map((i) => ({ txid: i.txid, vout: i.vout, sats: BigInt(i.sats), index: i.index })),
    outputs: spend.outputs.map((o) => ({ address: o.address, sats: BigInt(o.sats), change: o.change })),
  };
  return { request, proposal };
}

const asLoanError = <T>(run: () => T): T => {
  try {
    return run();
  } catch (error) {
    if (error instanceof SpendError) refuse(error.code, error.message);
    throw error;
  }
};

/** A signer's PSBT comes back: checked (this spend's transaction, every signature valid and the vault's), kept with who signed. */
export async function addSignatures(tx: Queryable, loanRef: string, spendId: string, psbt: string, userId: bigint, at: Date): Promise<{ spend: SpendRow; signers: string[][]; vault: VaultRow & { ref: string } }> {
  const vault = await loadVault(tx, loanRef);
  const spend = await loadSpend(tx, vault.id, spendId, true);
  if (spend.state !== 'signing') refuse('spend_not_in_state', `spend ${spend.id} is ${spend.state}: signatures are taken while it is signing`);
  const { request, proposal } = await rebuilt(tx, spend);
  const signers = asLoanError(() => inspectSigned(request, proposal, psbt));
  await tx.query('INSERT INTO vault_spend_signatures (spend_id, psbt, signers, uploaded_by, uploaded_at) VALUES ($1, $2, $3::jsonb, $4, $5)', [spend.id, psbt.trim(), JSON.stringify(signers), userId, at]);
  return { spend, signers, vault };
}

/** The PSBT with every signature received so far (what the next signer signs). */
export async function combinedPsbt(db: Queryable, spend: SpendRow): Promise<string> {
  const [vault] = await db.query<{ network: VaultNetwork }>('SELECT network FROM vaults WHERE id = $1', [spend.vault_id]);
  const network = bitcoinNetwork(vault!.network);
  const base = Psbt.fromBase64(spend.psbt, { network });
  const uploads = await db.query<{ psbt: string }>('SELECT psbt FROM vault_spend_signatures WHERE spend_id = $1 ORDER BY id', [spend.id]);
  if (uploads.length > 0) base.combine(...uploads.map((u) => Psbt.fromBase64(u.psbt, { network })));
  return base.toBase64();
}

export interface FinalisePayload { readonly loan: string; readonly spend: string }

/** With enough signatures, a second treasurer approves the finalised transaction for broadcast. */
export const finaliseSpendAction: ApprovalAction<FinalisePayload> = {
  type: 'vault.spend.finalise',
  proposerRoles: ['treasury'],
  defaultApproverRoles: ['treasury'],
  prepare(db, raw) {
    return loanOutcome(async () => {
      const payload = raw as FinalisePayload;
      const vault = await loadVault(db, String(payload.loan));
      const spend = await loadSpend(db, vault.id, String(payload.spend));
      if (spend.state !== 'signing') refuse('spend_not_in_state', `spend ${spend.id} is ${spend.state}: only a spend being signed is finalised`);
      const checked = await finalised(db, spend);
      return { payload: { loan: vault.ref, spend: spend.id.toString() }, summary: `broadcast spend ${spend.id} of ${vault.ref}'s vault: ${formatSats(spend.sats)} BTC to ${spend.to_address}, fee ${formatSats(spend.fee_sats)} BTC; transaction ${checked.txid}`, amounts: { BTC: spend.sats + spend.fee_sats }, target: `loan:${vault.ref}` };
    });
  },
  execute(tx, payload, context) {
    return loanOutcome(async () => {
      const vault = await loadVault(tx, payload.loan);
      const spend = await loadSpend(tx, vault.id, payload.spend, true);
      if (spend.state !== 'signing') refuse('spend_not_in_state', `spend ${spend.id} is ${spend.state}: only a spend being signed is finalised`);
      const checked = await finalised(tx, spend);
      await tx.query(`UPDATE vault_spends SET state = 'finalised', txid = $2, tx_hex = $3, finalised_at = $4 WHERE id = $1`, [spend.id, checked.txid, checked.txHex, context.now]);
      const day = await openBusinessDay(tx, context.now);
      const details = { spendId: spend.id.toString(), txid: checked.txid, btc: formatSats(spend.sats), feeBtc: formatSats(spend.fee_sats), signers: checked.signers };
      await loanEvent(tx, vault.loan_id, day, 'vault_spend_finalised', details, context.now);
      await auditApproved(tx, context, 'vault.spend.finalise', `loan:${vault.ref}`, { ...details, amounts: { BTC: formatSats(spend.sats + spend.fee_sats) } });
      return { loan: vault.ref, spendId: spend.id.toString(), txid: checked.txid };
    });
  },
};

async function finalised(db: Queryable, spend: SpendRow) {
  const { request, proposal } = await rebuilt(db, spend);
  const uploads = await db.query<{ psbt: string }>('SELECT psbt FROM vault_spend_signatures WHERE spend_id = $1 ORDER BY id', [spend.id]);
  return asLoanError(() => checkAndFinalise(request, proposal, uploads.map((u) => u.psbt)));
}

/**
 * Hands finalised spends to the backend (the watcher job's round does this, and treasury's
 * broadcast button for one): the spend becomes 'broadcast' when the backend takes it; a refusal
 * is kept on the spend (broadcast_error) and tried again on the next round. Re-sending a
 * transaction the network has is harmless, so a crash between the backend's answer and the
 * update only sends it again.
 */
/** Who asked for a broadcast, for its audit record: a treasurer's request, or (absent) the system's job. */
export type BroadcastActor = Pick<AuditEvent, 'actorUserId' | 'actor' | 'requestId' | 'clientRequestId' | 'ip'>;

export async function broadcastSpend(db: Database, backend: ChainBackend, spendId: bigint, at: Date, actor?: BroadcastActor): Promise<{ ok: true; txid: string } | { ok: false; reason: string }> {
  const [spend] = await db.query<{ id: bigint; state: string; tx_hex: string | null; txid: string | null; ref: string; sats: bigint; fee_sats: bigint }>(
    'SELECT s.id, s.state, s.tx_hex, s.txid, l.ref, s.sats, s.fee_sats FROM vault_spends s JOIN vaults v ON v.id = s.vault_id JOIN loans l ON l.id = v.loan_id WHERE s.id = $1', [spendId]);
  if (spend === undefined || spend.tx_hex === null || !['finalised', 'broadcast'].includes(spend.state)) return { ok: false, reason: `spend ${spendId} is not finalised` };
  let txid: string;
  try {
    txid = await backend.broadcast(spend.tx_hex);
  } catch (error) {
    if (!(error instanceof SourceError)) throw error;
    await db.query('UPDATE vault_spends SET broadcast_error = $2 WHERE id = $1', [spendId, error.message.slice(0, 500)]);
    return { ok: false, reason: error.message };
  }
  if (txid !== spend.txid) return { ok: false, reason: `${backend.name} answered txid ${txid} for spend ${spendId}'s transaction ${spend.txid}` };
  await db.transaction(async (tx) => {
    const updated = await tx.query(`UPDATE vault_spends SET state = 'broadcast', broadcast_at = coalesce(broadcast_at, $2), broadcast_error = NULL WHERE id = $1 AND state IN ('finalised', 'broadcast') RETURNING id`, [spendId, at]);
    if (updated.length === 0) return;
    const system = actor === undefined ? await systemUser(tx) : undefined;
    const who: BroadcastActor = actor ?? { actorUserId: system!.id, actor: system!.username };
    await appendAudit(tx, { ...who, action: 'vault.spend.broadcast', target: `loan:${spend.ref}`, details: { spendId: spendId.toString(), txid, backend: backend.name, amounts: { BTC: formatSats(spend.sats + spend.fee_sats) } } }, at);
  });
  return { ok: true, txid };
}

/** Every finalised spend not yet taken by the backend, sent (the watcher job's round). */
export async function broadcastPending(db: Database, backend: ChainBackend, at: Date): Promise<number> {
  const pending = await db.query<{ id: bigint }>(`SELECT id FROM vault_spends WHERE state = 'finalised' ORDER BY id LIMIT 100`);
  let sent = 0;
  for (const spend of pending) if ((await broadcastSpend(db, backend, spend.id, at)).ok) sent += 1;
  return sent;
}

/** The borrower's release address, checked for the vault's network and kept (the borrower's act, audited by its route). */
export async function setReleaseAddress(tx: Queryable, loanRef: string, address: string, at: Date): Promise<VaultRow & { ref: string }> {
  const vault = await loadVault(tx, loanRef, true);
  const problem = addressProblem(address, vault.network);
  if (problem !== undefined) refuse('release_address_invalid', problem);
  const [own] = await tx.query('SELECT 1 FROM vault_addresses WHERE address = $1', [address]);
  if (own !== undefined) refuse('release_address_invalid', `${address} is a vault's own address; give an address of your own wallet`);
  const [open] = await tx.query<{ id: bigint }>(`SELECT id FROM vault_spends WHERE vault_id = $1 AND state IN ('signing', 'finalised', 'broadcast') AND purpose <> 'liquidation'`, [vault.id]);
  if (open !== undefined) refuse('spend_open', `spend ${open.id} to the current release address is in flight; the address changes after it`);
  await tx.query('UPDATE vaults SET release_address = $2, release_address_at = $3 WHERE id = $1', [vault.id, address, at]);
  return vault;
}

/** Cancels a spend still being signed (its coins are offered to the next one); the signatures taken are kept on record. */
export async function cancelSpend(tx: Queryable, loanRef: string, spendId: string, at: Date) {
  const vault = await loadVault(tx, loanRef);
  const spend = await loadSpend(tx, vault.id, spendId, true);
  if (spend.state !== 'signing') refuse('spend_not_in_state', `spend ${spend.id} is ${spend.state}: only a spend still being signed is cancelled (a finalised transaction may already be on the network)`);
  await tx.query(`UPDATE vault_spends SET state = 'cancelled', cancelled_at = $2 WHERE id = $1`, [spend.id, at]);
  const loan = await loadLoan(tx, vault.ref);
  await loanEvent(tx, loan.id, await openBusinessDay(tx, at), 'vault_spend_cancelled', { spendId: spend.id.toString() }, at);
  return { vault, spend };
}

/** The spends of a vault as its readers see them, newest first, with who signed each. */
export async function spendsView(db: Queryable, vaultId: bigint) {
  const spends = await db.query<SpendRow>('SELECT * FROM vault_spends WHERE vault_id = $1 ORDER BY id DESC', [vaultId]);
  const uploads = await db.query<{ spend_id: bigint; signers: string[][]; username: string; uploaded_at: Date }>(
    'SELECT s.spend_id, s.signers, u.username, s.uploaded_at FROM vault_spend_signatures s JOIN users u ON u.id = s.uploaded_by JOIN vault_spends v ON v.id = s.spend_id WHERE v.vault_id = $1 ORDER BY s.id', [vaultId]);
  const [vault] = await db.query<{ descriptor: string; network: VaultNetwork }>('SELECT descriptor, network FROM vaults WHERE id = $1', [vaultId]);
  // Which of the vault's keys signed: named by their key origin's fingerprint, as wallets show them.
  const parsed = vault === undefined ? undefined : parseDescriptor(vault.descriptor, vault.network);
  const chain = parsed === undefined ? undefined : new AddressChain(parsed);
  const fingerprintOf = (index: number, pubkey: string): string => {
    const keys = chain?.keysAt(index) ?? [];
    const at = keys.findIndex((key) => Buffer.from(key).toString('hex') === pubkey);
    return at < 0 ? pubkey.slice(0, 8) : parsed!.keys[at]?.fingerprint ?? pubkey.slice(0, 8);
  };
  return spends.map((spend) => {
    const mine = uploads.filter((u) => u.spend_id === spend.id);
    const signedBy = new Set<string>();
    for (const upload of mine) upload.signers.forEach((keys, k) => keys.forEach((key) => signedBy.add(fingerprintOf(spend.inputs[k]?.index ?? 0, key))));
    return {
      id: spend.id.toString(), purpose: spend.purpose, state: spend.state, liquidation: spend.liquidation_id?.toString() ?? null,
      to: spend.to_address, btc: formatSats(spend.sats), changeBtc: formatSats(spend.change_sats), feeBtc: formatSats(spend.fee_sats), feeRateSatPerVb: (spend.fee_rate_kvb / 1_000).toString(),
      vsize: spend.vsize, unsignedTxid: spend.unsigned_txid, txid: spend.txid,
      inputs: spend.inputs.map((i) => ({ txid: i.txid, vout: i.vout, btc: formatSats(BigInt(i.sats)) })),
      signedBy: [...signedBy], uploads: mine.map((u) => ({ by: u.username, at: u.uploaded_at.toISOString() })),
      createdAt: spend.created_at.toISOString(), finalisedAt: spend.finalised_at?.toISOString() ?? null, broadcastAt: spend.broadcast_at?.toISOString() ?? null,
      broadcastError: spend.broadcast_error, confirmedAt: spend.confirmed_at?.toISOString() ?? null, confirmedHeight: spend.confirmed_height, cancelledAt: spend.cancelled_at?.toISOString() ?? null,
    };
  });
}

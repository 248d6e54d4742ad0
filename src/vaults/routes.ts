import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ownsLoanRef } from '../api/access.js';
import type { AppContext } from '../api/context.js';
import { ApiError } from '../api/errors.js';
import { IdempotencyHeaders } from '../api/schemas.js';
import { auditApproved, type ApprovalAction } from '../approvals/approvals.js';
import { ApprovalView, proposeFrom } from '../approvals/routes.js';
import type { Queryable } from '../db/database.js';
import { BOOK_READERS } from '../identity/roles.js';
import { LoanError, refuse } from '../loans/loan-errors.js';
import { loadLoan, loanEvent, openBusinessDay } from '../loans/loan-store.js';
import { loanOutcome, productVersion } from '../loans/origination.js';
import { CUSTODY_DEFAULTS } from '../loans/product.js';
import { formatSats } from '../money/money.js';
import { DescriptorError, isVaultNetwork, parseDescriptor, MAX_RELATIVE_BLOCKS, VAULT_NETWORKS, vaultDescriptor, type ParsedDescriptor, type VaultKey, type VaultNetwork } from './descriptor.js';
import { makeProof } from './proof.js';
import { checkKeyProof, keyChallenge, KeyProofError } from './key-proof.js';
import { createVault, processedTip } from './vault-store.js';
import { addSignatures, broadcastSpend, cancelSpend, combinedPsbt, finaliseSpendAction, loadSpend, loadVault, proposedFeeRate, setReleaseAddress, SPEND_PURPOSES, spendsView, spendVaultAction } from './spends.js';
import { auditFields, auditRequest, markAudited } from '../api/access.js';
import { rejection } from '../api/errors.js';
import { runIdempotent } from '../api/idempotency.js';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * A loan's vault through the API: treasury proposes it (mode, network, the cosigners' account
 * xpubs with their key origins, threshold, an optional recovery path), a second treasurer approves,
 * and the vault is made with its first addresses; staff and the loan's borrower read it (the
 * descriptor to import into their own wallet, the addresses, each coin's confirmations).
 */

const KEY_ROLES = ['bank', 'borrower', 'agent'] as const;
type KeyRole = (typeof KEY_ROLES)[number];
interface KeyInput extends VaultKey { readonly role: KeyRole }

export interface VaultPayload {
  readonly loan: string;
  readonly mode: 'bank' | 'collaborative';
  readonly network: VaultNetwork;
  readonly threshold: number;
  readonly keys: readonly KeyInput[];
  /** Blocks after a coin confirms when the borrower's key alone may spend it; the borrower's key is the one with role 'borrower'. */
  readonly recoveryAfterBlocks?: number;
  /** Confirmations before a deposit counts; absent: the product's (default 3). */
  readonly confirmations?: number;
}

/** The vault's descriptor for a chain, or the reason it cannot be made. */
function describe(payload: VaultPayload, chain: number): ParsedDescriptor {
  if (!/^LN-[0-9]{1,18}$/.test(String(payload.loan))) refuse('invalid_proposal', 'loan is a loan reference such as LN-1');
  if (!isVaultNetwork(String(payload.network))) refuse('invalid_proposal', `network is one of ${VAULT_NETWORKS.join(', ')}`);
  if (payload.confirmations !== undefined && (!Number.isInteger(payload.confirmations) || payload.confirmations < 1 || payload.confirmations > 100)) refuse('invalid_proposal', 'confirmations is a whole number from 1 to 100');
  const roles = payload.keys.map((key) => key.role);
  if (payload.mode === 'collaborative') {
    if (payload.keys.length !== 3 || !['borrower', 'bank', 'agent'].every((role) => roles.filter((r) => r === role).length === 1)) refuse('invalid_proposal', 'a collaborative vault has three keys: the borrower\'s, the bank\'s and the key agent\'s');
    if (payload.threshold !== 2) refuse('invalid_proposal', 'a collaborative vault needs 2 signatures of its 3 keys');
  } else if (payload.mode === 'bank') {
    if (!roles.every((role) => role === 'bank') && !(payload.recoveryAfterBlocks !== undefined && roles.filter((r) => r === 'borrower').length === 1)) refuse('invalid_proposal', 'a bank vault\'s keys are the bank\'s own (and the borrower\'s recovery key when there is a recovery path)');
  } else {
    refuse('invalid_proposal', 'mode is bank or collaborative');
  }
  const borrowerKey = payload.keys.find((key) => key.role === 'borrower');
  if (payload.recoveryAfterBlocks !== undefined && borrowerKey === undefined) refuse('invalid_proposal', 'a recovery path needs the borrower\'s key (role borrower)');
  const cosigners = payload.mode === 'bank' ? payload.keys.filter((key) => key.role === 'bank') : payload.keys;
  try {
    return vaultDescriptor({
      network: payload.network, threshold: payload.threshold, chain,
      keys: cosigners.map(({ xpub, fingerprint, originPath }) => ({ xpub, fingerprint, originPath })),
      ...(payload.recoveryAfterBlocks !== undefined ? { recovery: { key: borrowerKey!, afterBlocks: payload.recoveryAfterBlocks } } : {}),
    });
  } catch (error) {
    if (error instanceof DescriptorError) throw new LoanError(error.code, error.message);
    throw error;
  }
}

async function checkVaultable(db: Queryable, payload: VaultPayload) {
  const loan = await loadLoan(db, payload.loan);
  if (!['approved', 'active', 'overdue'].includes(loan.status)) refuse('loan_not_in_state', `loan ${loan.ref} is ${loan.status}: a vault is made for an approved or live loan`);
  // The product's custody: the modes it allows, the least confirmations, a recovery path it requires.
  const { terms } = await productVersion(db, loan.product_code, loan.product_version);
  const custody = { ...CUSTODY_DEFAULTS, ...terms.collateral.custody };
  if (!(custody.modes as readonly string[]).includes(payload.mode)) refuse('custody_mode_not_allowed', `product ${loan.product_code} allows ${custody.modes.join(', ')} custody, not ${payload.mode}`);
  // The product's confirmations are the default, and a floor when the product sets them; a vault may ask more.
  const least = terms.collateral.custody?.confirmations;
  const confirmations = payload.confirmations ?? custody.confirmations;
  if (least !== undefined && confirmations < least) refuse('invalid_proposal', `product ${loan.product_code} counts a deposit after at least ${least} confirmations; ${confirmations} asked`);
  if (custody.recoveryPath === 'required' && payload.recoveryAfterBlocks === undefined) refuse('invalid_proposal', `product ${loan.product_code} requires the borrower's recovery path: give recoveryAfterBlocks`);
  const [existing] = await db.query<{ descriptor: string }>('SELECT descriptor FROM vaults WHERE loan_id = $1', [loan.id]);
  if (existing !== undefined) refuse('vault_exists', `loan ${loan.ref} has a vault already: ${existing.descriptor}`);
  return { loan, confirmations };
}

export const createVaultAction: ApprovalAction<VaultPayload> = {
  type: 'vault.create',
  proposerRoles: ['treasury'],
  defaultApproverRoles: ['treasury'],
  prepare(db, raw) {
    return loanOutcome(async () => {
      const payload = raw as VaultPayload;
      const preview = describe(payload, 0);
      const { loan, confirmations } = await checkVaultable(db, payload);
      const clean: VaultPayload = {
        loan: loan.ref, mode: payload.mode, network: payload.network, threshold: payload.threshold, confirmations,
        keys: payload.keys.map(({ role, xpub, fingerprint, originPath }) => ({ role, xpub, fingerprint: fingerprint.toLowerCase(), originPath })),
        ...(payload.recoveryAfterBlocks !== undefined ? { recoveryAfterBlocks: payload.recoveryAfterBlocks } : {}),
      };
      const keys = clean.keys.map((key) => `${key.role} ${key.fingerprint}`).join(', ');
      return { payload: clean, summary: `vault for ${loan.ref}: ${payload.mode}, ${payload.threshold} of ${preview.keys.length - (payload.recoveryAfterBlocks === undefined ? 0 : 1)} keys (${keys})${payload.recoveryAfterBlocks === undefined ? '' : `, borrower's recovery after ${payload.recoveryAfterBlocks} blocks`}, ${payload.network}, ${confirmations} confirmations`, amounts: {}, target: `loan:${loan.ref}` };
    });
  },
  execute(tx, payload, context) {
    return loanOutcome(async () => {
      const { loan, confirmations } = await checkVaultable(tx, payload);
      // The next address chain: one per vault, in the order vaults are made (the descriptor is unique).
      const [next] = await tx.query<{ chain: number }>('SELECT coalesce(max(chain_index) + 1, 0)::int4 AS chain FROM vaults');
      const parsed = describe(payload, next!.chain);
      const borrowerXpub = payload.keys.find((key) => key.role === 'borrower')?.xpub;
      const vaultId = await createVault(tx, { loanId: loan.id, mode: payload.mode, parsed, chainIndex: next!.chain, confirmations, at: context.now, ...(borrowerXpub !== undefined ? { borrowerXpub } : {}) });
      const day = await openBusinessDay(tx, context.now);
      await loanEvent(tx, loan.id, day, 'vault_created', { vaultId: vaultId.toString(), mode: payload.mode, network: payload.network, descriptor: parsed.descriptor }, context.now);
      await auditApproved(tx, context, 'vault.create', `loan:${loan.ref}`, { vaultId: vaultId.toString(), descriptor: parsed.descriptor, mode: payload.mode, network: payload.network, confirmations });
      return { loan: loan.ref, vaultId: vaultId.toString(), descriptor: parsed.descriptor };
    });
  },
};

/** The vault as its readers see it: descriptor, addresses, coins with their confirmations. */
export async function vaultView(db: Queryable, loanRef: string) {
  const [vault] = await db.query<{ id: bigint; mode: string; network: string; descriptor: string; proof_ref: string; confirmations: number; frozen_at: Date | null; frozen_reason: string | null; created_at: Date; release_address: string | null; release_address_at: Date | null; borrower_xpub: string | null; borrower_key_proven_at: Date | null }>(
    'SELECT v.id, v.mode, v.network, v.descriptor, v.proof_ref, v.confirmations, v.frozen_at, v.frozen_reason, v.created_at, v.release_address, v.release_address_at, v.borrower_xpub, v.borrower_key_proven_at FROM vaults v JOIN loans l ON l.id = v.loan_id WHERE l.ref = $1', [loanRef]);
  if (vault === undefined) throw new ApiError(404, 'not_found', `loan ${loanRef} has no vault (its collateral is held by the custodian, or the vault is not made yet)`);
  const tip = await processedTip(db);
  const addresses = await db.query<{ address_index: number; address: string }>('SELECT address_index, address FROM vault_addresses WHERE vault_id = $1 ORDER BY address_index', [vault.id]);
  // A coin is held when an address it came from is under an open screening hit (compliance clears it).
  const coins = await db.query<{ txid: string; vout: number; address_index: number; sats: bigint; block_height: number | null; counted_at: Date | null; spent_txid: string | null; first_seen_at: Date; in_mempool: boolean; input_addresses: string[]; held: boolean }>(
    `SELECT c.txid, c.vout, c.address_index, c.sats, c.block_height, c.counted_at, c.spent_txid, c.first_seen_at, c.in_mempool, c.input_addresses,
            c.counted_at IS NULL AND EXISTS (SELECT 1 FROM screening_hits h JOIN loans l ON l.borrower_id = h.borrower_id JOIN vaults w ON w.loan_id = l.id
                                              WHERE w.id = c.vault_id AND h.status = 'open' AND h.field = 'btc_address' AND h.matched = ANY (c.input_addresses)) AS held
       FROM vault_coins c WHERE c.vault_id = $1 ORDER BY c.first_seen_at, c.txid, c.vout`, [vault.id]);
  const spends = await spendsView(db, vault.id);
  // A coin a vault spend has spent stays collateral until that spend is booked at its confirmations.
  const pending = new Set(spends.filter((spend) => spend.state === 'broadcast' && spend.txid !== null).map((spend) => spend.txid!));
  const counts = (coin: { counted_at: Date | null; spent_txid: string | null }) => coin.counted_at !== null && (coin.spent_txid === null || pending.has(coin.spent_txid));
  const counted = coins.filter(counts).reduce((sum, coin) => sum + coin.sats, 0n);
  return {
    loan: loanRef, mode: vault.mode, network: vault.network, descriptor: vault.descriptor, confirmationsNeeded: vault.confirmations,
    /** The vault's line in the public proof of collateral (GET /api/v1/proof-of-collateral). */
    proofRef: vault.proof_ref,
    frozen: vault.frozen_at === null ? null : { at: vault.frozen_at.toISOString(), reason: vault.frozen_reason },
    tipHeight: tip?.height ?? null,
    depositAddress: addresses[0]?.address ?? null,
    /** The address a miner points its pool's payouts at: each payout tops up the collateral, shown as a payout. */
    payoutAddress: addresses[1]?.address ?? null,
    releaseAddress: vault.release_address === null ? null : { address: vault.release_address, at: vault.release_address_at!.toISOString() },
    /** The borrower's key of the vault, and when the borrower proved it holds it (GET …/vault/key-challenge, POST …/vault/key-proof). */
    borrowerKey: vault.borrower_xpub === null ? null : { xpub: vault.borrower_xpub, provenAt: vault.borrower_key_proven_at?.toISOString() ?? null },
    addresses: addresses.map((a) => ({ index: a.address_index, address: a.address })),
    coins: coins.map((coin) => ({
      txid: coin.txid, vout: coin.vout, addressIndex: coin.address_index, btc: formatSats(coin.sats), blockHeight: coin.block_height,
      confirmations: coin.block_height === null || tip === undefined ? 0 : tip.height - coin.block_height + 1,
      counted: counts(coin), spentBy: coin.spent_txid, firstSeenAt: coin.first_seen_at.toISOString(),
      /** Seen in the mempool, in no block yet (0 confirmations); a coin without a block and not this is one a reorganisation took back. */
      unconfirmed: coin.block_height === null && coin.in_mempool,
      /** The addresses the paying transaction's inputs spent from (screened as the borrower's pledge addresses). */
      from: coin.input_addresses,
      /** Held for compliance: an address it came from is under an open screening hit; it counts once the hit is cleared. */
      held: coin.held,
      /** deposit: paid to the deposit (or another) address; payout: to the pool payout address; change: a vault spend's change. */
      source: spends.some((spend) => spend.txid === coin.txid) ? 'change' : coin.address_index === 1 ? 'payout' : 'deposit',
    })),
    spends,
    countedBtc: formatSats(counted),
    createdAt: vault.created_at.toISOString(),
  };
}

/** The vault's key challenge for its borrower (the message names the loan and the vault's public reference). */
async function challengeOf(db: Queryable, loanRef: string) {
  const [vault] = await db.query<{ id: bigint; network: VaultNetwork; descriptor: string; proof_ref: string; borrower_xpub: string | null }>(
    'SELECT v.id, v.network, v.descriptor, v.proof_ref, v.borrower_xpub FROM vaults v JOIN loans l ON l.id = v.loan_id WHERE l.ref = $1', [loanRef]);
  if (vault === undefined) refuse('vault_not_found', `loan ${loanRef} has no vault`);
  if (vault.borrower_xpub === null) refuse('no_borrower_key', `the vault of ${loanRef} has no key of the borrower's to prove`);
  const parsed = parseDescriptor(vault.descriptor, vault.network);
  return { vault, parsed, challenge: keyChallenge(parsed, vault.borrower_xpub, `zalog: the borrower of ${loanRef} holds its key of vault ${vault.proof_ref}`) };
}

const KeyInputSchema = Type.Object({
  role: Type.Union(KEY_ROLES.map((role) => Type.Literal(role))),
  xpub: Type.String({ pattern: '^[xt]pub[1-9A-HJ-NP-Za-km-z]{100,112}$', description: 'the account-level extended public key (xpub on mainnet, tpub elsewhere), e.g. at m/48\'/0\'/0\'/2\'' }),
  fingerprint: Type.String({ pattern: '^[0-9a-fA-F]{8}$', description: 'the master key\'s fingerprint' }),
  originPath: Type.String({ pattern: "^[0-9]+['h]?(/[0-9]+['h]?){0,9}$", description: "the path from the master key to the xpub, e.g. 48'/0'/0'/2'" }),
}, { additionalProperties: false });

export function vaultRoutes(context: AppContext): FastifyPluginAsyncTypebox {
  const { db } = context;
  const ownsLoan = ownsLoanRef(db);
  return async (app) => {
    app.post('/loans/:ref/vault', {
      config: { access: { roles: ['treasury'] }, audit: 'vault.create.propose', idempotent: true },
      schema: {
        tags: ['vaults'], summary: 'Propose the loan\'s vault (on-chain custody): its mode, network, keys and threshold, an optional recovery path for the borrower; a second treasurer approves',
        headers: IdempotencyHeaders, params: Type.Object({ ref: Type.String({ pattern: '^LN-[1-9][0-9]{0,17}$', description: 'a loan reference, e.g. "LN-1"' }) }),
        body: Type.Object({
          mode: Type.Union([Type.Literal('bank'), Type.Literal('collaborative')]),
          network: Type.Union(VAULT_NETWORKS.map((network) => Type.Literal(network))),
          threshold: Type.Integer({ minimum: 1, maximum: 20 }),
          keys: Type.Array(KeyInputSchema, { minItems: 1, maxItems: 21 }),
          recoveryAfterBlocks: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_RELATIVE_BLOCKS, description: 'the borrower\'s key alone may spend a coin this many blocks after it confirmed (BIP-68)' })),
          confirmations: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'confirmations before a deposit counts as collateral; default the product\'s (3 unless it says), which it may also set as a floor' })),
        }, { additionalProperties: false }),
        response: { 202: ApprovalView, 400: Type.Ref('Error'), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error'), 409: Type.Ref('Error'), 422: Type.Ref('Error') },
      },
    }, async (request, reply) => proposeFrom(context, request, reply, createVaultAction as ApprovalAction<unknown>, { loan: request.params.ref, ...request.body }));

    app.get('/loans/:ref/vault', {
      config: { access: { roles: [...BOOK_READERS, 'admin', 'borrower'], borrowerOwns: ownsLoan } },
      schema: {
        tags: ['vaults'], summary: 'The loan\'s vault: its descriptor (to import into a wallet and check the addresses), the deposit address, each coin with its confirmations, and what counts as collateral',
        params: Type.Object({ ref: Type.String({ pattern: '^LN-[1-9][0-9]{0,17}$', description: 'a loan reference, e.g. "LN-1"' }) }),
        response: { 200: Type.Record(Type.String(), Type.Unknown()), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error') },
      },
    }, async (request) => vaultView(db, request.params.ref));

    const LoanRef = Type.Object({ ref: Type.String({ pattern: '^LN-[1-9][0-9]{0,17}$', description: 'a loan reference, e.g. "LN-1"' }) });
    const SpendRef = Type.Object({ ref: LoanRef.properties.ref, id: Type.String({ pattern: '^[1-9][0-9]{0,17}$', description: 'the spend\'s id' }) });
    const errors = { 400: Type.Ref('Error'), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error'), 409: Type.Ref('Error'), 422: Type.Ref('Error') };
    /** An idempotent change whose business refusal is answered (and rolls back); audited in its transaction. */
    const change = <T extends Record<string, unknown>>(request: FastifyRequest, reply: FastifyReply, status: number, work: (tx: Queryable) => Promise<{ body: T; target: string; amounts?: Record<string, bigint>; details?: Record<string, unknown> }>) =>
      runIdempotent(db, request, reply, async (tx) => {
        const outcome = await loanOutcome(async () => {
          const done = await work(tx);
          await auditRequest(tx, request, { target: done.target, ...(done.amounts !== undefined ? { amounts: done.amounts } : {}), ...(done.details !== undefined ? { details: done.details } : {}) }, context.now());
          return done.body;
        });
        return outcome.ok ? { ok: true as const, value: { status, body: outcome.value } } : outcome;
      });

    app.post('/loans/:ref/vault/release-address', {
      config: { access: { roles: ['borrower'], borrowerOwns: ownsLoan }, audit: 'vault.release_address.set', idempotent: true },
      schema: {
        tags: ['vaults'], summary: 'The borrower gives the address its collateral is released to (after repayment, or an excess release): an address of its own wallet on the vault\'s network; only the borrower sets it',
        headers: IdempotencyHeaders, params: LoanRef,
        body: Type.Object({ address: Type.String({ minLength: 14, maxLength: 90, pattern: '^[a-zA-Z0-9]+$' }) }, { additionalProperties: false }),
        response: { 200: Type.Record(Type.String(), Type.Unknown()), ...errors },
      },
    }, async (request, reply) => change(request, reply, 200, async (tx) => {
      const vault = await setReleaseAddress(tx, request.params.ref, request.body.address, context.now());
      return { body: { loan: vault.ref, releaseAddress: request.body.address }, target: `loan:${vault.ref}`, details: { address: request.body.address } };
    }));

    app.get('/loans/:ref/vault/key-challenge', {
      config: { access: { roles: [...BOOK_READERS, 'admin', 'borrower'], borrowerOwns: ownsLoan } },
      schema: {
        tags: ['vaults'], summary: 'The vault\'s key challenge: a PSBT in the shape of a BIP-322 proof (a virtual spend of the vault\'s first address, value 0, to OP_RETURN: never a real transaction) that the borrower signs with its key of the vault, in the wallet it will co-sign with',
        params: LoanRef,
        response: { 200: Type.Object({ message: Type.String(), psbt: Type.String(), unsignedTxid: Type.String() }), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error'), 409: Type.Ref('Error') },
      },
    }, async (request) => {
      const outcome = await loanOutcome(async () => challengeOf(db, request.params.ref));
      if (!outcome.ok) throw rejection(outcome.error);
      return outcome.value.challenge;
    });

    app.post('/loans/:ref/vault/key-proof', {
      config: { access: { roles: ['borrower'], borrowerOwns: ownsLoan }, audit: 'vault.key_proof', idempotent: true },
      schema: {
        tags: ['vaults'], summary: 'The borrower sends back the key challenge signed with its key of the vault: checked (the challenge as issued, a valid signature by the key given as the borrower\'s) and kept; a collaborative vault\'s loan is disbursed only after',
        headers: IdempotencyHeaders, params: LoanRef,
        body: Type.Object({ psbt: Type.String({ minLength: 10, maxLength: 100_000, description: 'the signed challenge PSBT, base64' }) }, { additionalProperties: false }),
        response: { 200: Type.Record(Type.String(), Type.Unknown()), ...errors },
      },
    }, async (request, reply) => change(request, reply, 200, async (tx) => {
      const { vault, parsed, challenge } = await challengeOf(tx, request.params.ref);
      let key: string;
      try {
        key = checkKeyProof(parsed, vault.borrower_xpub!, challenge, request.body.psbt);
      } catch (error) {
        if (error instanceof KeyProofError) refuse(error.code, error.message);
        throw error;
      }
      const at = context.now();
      await tx.query('UPDATE vaults SET borrower_key_proven_at = coalesce(borrower_key_proven_at, $2), borrower_key_proof = coalesce(borrower_key_proof, $3) WHERE id = $1', [vault.id, at, request.body.psbt.trim()]);
      return { body: { loan: request.params.ref, provenAt: at.toISOString(), key }, target: `loan:${request.params.ref}`, details: { key, message: challenge.message } };
    }));

    app.post('/loans/:ref/vault/spends', {
      config: { access: { roles: ['treasury'] }, audit: 'vault.spend.propose', idempotent: true },
      schema: {
        tags: ['vaults'], summary: 'Propose a spend of the loan\'s vault: release (a repaid loan\'s coins to the borrower\'s release address), excess (an amount to it, the LTV after it at most the product\'s target) or liquidation (a liquidation\'s BTC to the desk). The fee rate is the backend\'s estimate within the floor and cap; a second treasurer approves and zalog builds the unsigned PSBT',
        headers: IdempotencyHeaders, params: LoanRef,
        body: Type.Object({
          purpose: Type.Union(SPEND_PURPOSES.map((purpose) => Type.Literal(purpose))),
          btc: Type.Optional(Type.String({ pattern: '^[0-9]{1,8}(\\.[0-9]{1,8})?$', description: 'excess: the BTC to release, e.g. "0.05000000"' })),
          liquidation: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,17}$', description: 'liquidation: the liquidation\'s id' })),
        }, { additionalProperties: false }),
        response: { 202: ApprovalView, ...errors, 503: Type.Ref('Error') },
      },
    }, async (request, reply) => {
      const settings = context.chain;
      if (settings === undefined) throw new ApiError(503, 'chain_unavailable', 'this service has no chain backend configured (ZALOG_CHAIN_ESPLORA_URL or ZALOG_CHAIN_BITCOIND_URL)');
      if (request.body.purpose === 'excess' && request.body.btc === undefined) throw new ApiError(400, 'invalid_proposal', 'an excess release says how much: btc');
      if (request.body.purpose === 'liquidation' && request.body.liquidation === undefined) throw new ApiError(400, 'invalid_proposal', 'a liquidation spend names its liquidation');
      let feeRateKvb: number;
      try {
        feeRateKvb = await proposedFeeRate(settings);
      } catch (error) {
        if (error instanceof LoanError) throw rejection(error);
        throw error;
      }
      return proposeFrom(context, request, reply, spendVaultAction(() => context.chain) as ApprovalAction<unknown>, { loan: request.params.ref, ...request.body, feeRateKvb });
    });

    app.get('/loans/:ref/vault/spends/:id/psbt', {
      config: { access: { roles: [...BOOK_READERS, 'admin', 'borrower'], borrowerOwns: ownsLoan } },
      schema: {
        tags: ['vaults'], summary: 'The spend\'s PSBT (BIP-174, base64) with every signature received so far: what the next signer signs in its wallet or HSM',
        params: SpendRef,
        response: { 200: Type.Object({ spend: Type.String(), state: Type.String(), unsignedTxid: Type.String(), psbt: Type.String() }), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error') },
      },
    }, async (request) => {
      const outcome = await loanOutcome(async () => {
        const vault = await loadVault(db, request.params.ref);
        const spend = await loadSpend(db, vault.id, request.params.id);
        return { spend: spend.id.toString(), state: spend.state, unsignedTxid: spend.unsigned_txid, psbt: await combinedPsbt(db, spend) };
      });
      if (!outcome.ok) throw rejection(outcome.error);
      return outcome.value;
    });

    app.post('/loans/:ref/vault/spends/:id/signatures', {
      config: { access: { roles: ['treasury', 'borrower'], borrowerOwns: ownsLoan }, audit: 'vault.spend.sign', idempotent: true },
      schema: {
        tags: ['vaults'], summary: 'A signer sends back the spend\'s PSBT signed in its wallet (the bank\'s HSM or hardware key; in the collaborative mode the borrower\'s wallet). Refused with the reason if it is another transaction, an output was changed, or a signature is not valid or not by a key of the vault',
        headers: IdempotencyHeaders, params: SpendRef,
        body: Type.Object({ psbt: Type.String({ minLength: 10, maxLength: 400_000, description: 'the signed PSBT, base64' }) }, { additionalProperties: false }),
        response: { 201: Type.Record(Type.String(), Type.Unknown()), ...errors },
      },
    }, async (request, reply) => change(request, reply, 201, async (tx) => {
      const { spend, signers, vault } = await addSignatures(tx, request.params.ref, request.params.id, request.body.psbt, request.principal!.user.id, context.now());
      return { body: { spend: spend.id.toString(), signaturesPerInput: signers.map((keys) => keys.length) }, target: `loan:${vault.ref}`, details: { spendId: spend.id.toString(), signers } };
    }));

    app.post('/loans/:ref/vault/spends/:id/finalise', {
      config: { access: { roles: ['treasury'] }, audit: 'vault.spend.finalise.propose', idempotent: true },
      schema: {
        tags: ['vaults'], summary: 'Propose the spend\'s transaction for broadcast: with enough valid signatures it is finalised; a second treasurer approves (then broadcast it, or the watcher\'s next round does)',
        headers: IdempotencyHeaders, params: SpendRef,
        response: { 202: ApprovalView, ...errors },
      },
    }, async (request, reply) => proposeFrom(context, request, reply, finaliseSpendAction as ApprovalAction<unknown>, { loan: request.params.ref, spend: request.params.id }));

    app.post('/loans/:ref/vault/spends/:id/broadcast', {
      config: { access: { roles: ['treasury'] }, audit: 'vault.spend.broadcast' },
      schema: {
        tags: ['vaults'], summary: 'Hand the finalised (four-eyes approved) transaction to the chain backend now; sending it again is harmless',
        params: SpendRef,
        response: { 200: Type.Object({ spend: Type.String(), txid: Type.String() }), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error'), 409: Type.Ref('Error'), 502: Type.Ref('Error'), 503: Type.Ref('Error') },
      },
    }, async (request) => {
      const settings = context.chain;
      if (settings === undefined) throw new ApiError(503, 'chain_unavailable', 'this service has no chain backend configured');
      const outcome = await loanOutcome(async () => {
        const vault = await loadVault(db, request.params.ref);
        const spend = await loadSpend(db, vault.id, request.params.id);
        if (!['finalised', 'broadcast'].includes(spend.state)) refuse('spend_not_in_state', `spend ${spend.id} is ${spend.state}: a spend is broadcast once it is finalised`);
        const sent = await broadcastSpend(db, settings.backend, spend.id, context.now(), auditFields(request));
        if (!sent.ok) refuse('broadcast_failed', `the backend did not take the transaction: ${sent.reason}`);
        return { spend: spend.id.toString(), txid: sent.txid };
      });
      if (!outcome.ok) throw rejection(outcome.error);
      markAudited(request);
      return outcome.value;
    });

    app.post('/loans/:ref/vault/spends/:id/cancel', {
      config: { access: { roles: ['treasury'] }, audit: 'vault.spend.cancel', idempotent: true },
      schema: {
        tags: ['vaults'], summary: 'Cancel a spend still being signed (nothing was broadcast); its coins are free for the next spend',
        headers: IdempotencyHeaders, params: SpendRef,
        response: { 200: Type.Record(Type.String(), Type.Unknown()), ...errors },
      },
    }, async (request, reply) => change(request, reply, 200, async (tx) => {
      const { vault, spend } = await cancelSpend(tx, request.params.ref, request.params.id, context.now());
      return { body: { spend: spend.id.toString(), state: 'cancelled' }, target: `loan:${vault.ref}`, details: { spendId: spend.id.toString() } };
    }));

    app.get('/proof-of-collateral', {
      config: { access: { public: true } },
      schema: {
        tags: ['vaults'], security: [], summary: 'Proof of collateral (public): every live vault under an opaque reference, its descriptor, the addresses holding its counted coins and their BTC, the block height, the total; signed with the bank\'s Ed25519 proof key. No names, no amounts owed. Check it with zalog vault proof --verify FILE',
        response: { 200: Type.Record(Type.String(), Type.Unknown()), 503: Type.Ref('Error') },
      },
    }, async () => {
      if (context.proofKey === undefined) throw new ApiError(503, 'proof_key_missing', 'this service has no proof-of-collateral key configured (ZALOG_PROOF_KEY_FILE)');
      return makeProof(db, context.proofKey, context.now());
    });
  };
}

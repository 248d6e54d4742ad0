import type { SigningKey } from '../audit/checkpoint.js';
import type { ApprovalRegistry } from '../approvals/approvals.js';
import type { Database } from '../db/database.js';
import type { RegistryClient } from '../compliance/registry.js';
import type { CheckpointTarget } from '../audit/checkpoint-file.js';
import type { OutboundPolicy } from '../adapters/outbound.js';
import type { ChainSettings } from '../vaults/spends.js';
import type { TelegramBot } from '../notices/telegram.js';

/** What every route plugin is built with. `now` is a clock the tests can move. */
export interface AppContext {
  readonly db: Database;
  readonly approvals: ApprovalRegistry;
  readonly now: () => Date;
  /** The clock of sessions and logins: real time even where `now` is the demo bank's fast clock. */
  readonly sessionNow: () => Date;
  readonly approvalTtlSeconds: number;
  /** A latest price cycle older than this is reported degraded (stale_price) when read. */
  readonly pricesStaleAfterSeconds: number;
  /** The FNS miners' registry service, when one is configured. */
  readonly registry: RegistryClient | undefined;
  /** The audit checkpoints' signing key, file and auditors' mailbox; undefined in tests that do not need them. */
  readonly audit: CheckpointTarget | undefined;
  /** Where webhook URLs users give may point (src/adapters/outbound.ts). */
  readonly outbound: OutboundPolicy;
  /** Underwriting refuses to decide on network data older than this (days). */
  readonly networkMaxAgeDays: number;
  /** The public proof of collateral's signing key (Ed25519); undefined where none is configured. */
  readonly proofKey: SigningKey | undefined;
  /** On-chain custody's backend and spending policy (fee floor and cap, the desk's address); undefined where none is configured. */
  readonly chain: ChainSettings | undefined;
  /** The bank's Telegram bot and its username (for t.me links); undefined where none is configured. */
  readonly telegram: { readonly bot: TelegramBot; readonly username: string | null } | undefined;
}

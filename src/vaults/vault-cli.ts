import type { Command } from 'commander';
import { ConfigError } from '../config.js';
import { jsonLine, readInputFile, writeOutputFile, type CliIo, type CliRuntime } from '../cli/io.js';
import { loadSigningKey, readVerifyingKey } from '../audit/checkpoint-file.js';
import { makeProof, proofProblems } from './proof.js';
import { AddressChain, impliedNetwork, isVaultNetwork, MAX_INDEX, parseDescriptor, VAULT_NETWORKS, type VaultNetwork } from './descriptor.js';

/**
 * `zalog vault …`: for operators and auditors, without a database. `address` derives a vault's
 * addresses from its descriptor (what the borrower's own wallet shows for the same descriptor);
 * `checksum` prints a descriptor with its BIP-380 checksum after checking its keys. A malformed
 * descriptor or key exits 2 with the reason. `proof` makes the signed proof of collateral (from
 * the database) or, with --verify, checks one without a database.
 */
export function registerVaultCommands(program: Command, io: CliIo, runtime: CliRuntime): void {
  const vault = program.command('vault').description('vault descriptors: addresses and checksums (no database needed)');

  const networkOf = (text: string, given: string | undefined): VaultNetwork => {
    if (given === undefined) return impliedNetwork(text);
    if (!isVaultNetwork(given)) throw new ConfigError(`--network is one of ${VAULT_NETWORKS.join(', ')}`);
    return given;
  };

  vault.command('address')
    .description('print the address(es) a vault descriptor derives')
    .requiredOption('--descriptor <descriptor>', "the vault's output descriptor, e.g. 'wsh(sortedmulti(2,[fp/48h/0h/0h/2h]xpub…/0/7/*,…))' (checksum optional; checked when given)")
    .option('--index <n>', 'the first index (ranged descriptors)', '0')
    .option('--count <n>', 'how many consecutive addresses (1 to 1000)', '1')
    .option('--network <network>', `${VAULT_NETWORKS.join(', ')} (default: mainnet for xpub keys, testnet for tpub)`)
    .option('--json', 'JSON lines: the descriptor with its checksum, index, address, scriptPubKey and witnessScript')
    .action((options: { descriptor: string; index: string; count: string; network?: string; json?: boolean }) => {
      if (!/^[0-9]{1,10}$/.test(options.index) || Number(options.index) > MAX_INDEX) throw new ConfigError(`--index is a whole number from 0 to ${MAX_INDEX}`);
      if (!/^[0-9]{1,4}$/.test(options.count) || Number(options.count) < 1 || Number(options.count) > 1000) throw new ConfigError('--count is a whole number from 1 to 1000');
      const parsed = parseDescriptor(options.descriptor, networkOf(options.descriptor, options.network));
      const first = Number(options.index);
      const count = Number(options.count);
      if (!parsed.ranged && (first !== 0 || count !== 1)) throw new ConfigError('the descriptor is not ranged (no /*): it has one address, at index 0');
      if (first + count - 1 > MAX_INDEX) throw new ConfigError(`the last index would pass ${MAX_INDEX}`);
      const chain = new AddressChain(parsed);
      for (let index = first; index < first + count; index += 1) {
        const derived = chain.at(index);
        io.out(options.json ? jsonLine({ descriptor: parsed.descriptor, network: parsed.network, ...derived }) : count === 1 ? derived.address : `${index}\t${derived.address}`);
      }
    });

  vault.command('checksum')
    .description('print the descriptor with its checksum (BIP-380), after checking its keys; exits 2 with the reason when it is malformed')
    .argument('<descriptor>', 'an output descriptor, with or without its checksum')
    .option('--network <network>', `${VAULT_NETWORKS.join(', ')} (default: mainnet for xpub keys, testnet for tpub)`)
    .action((descriptor: string, options: { network?: string }) => {
      io.out(parseDescriptor(descriptor, networkOf(descriptor, options.network), { vault: false }).descriptor);
    });

  vault.command('proof')
    .description('print the signed proof of collateral now (the database and ZALOG_PROOF_KEY_FILE), or check one with --verify FILE: its signature, every address re-derived from its descriptor, the sums')
    .option('--out <file>', 'write the proof to this file instead of printing it')
    .option('--verify <file>', 'check a proof (no database needed); exits 1 and lists what is wrong')
    .option('--public-key <file>', 'with --verify: the bank\'s published proof key (PEM); without it the key inside the proof is used')
    .action(async (options: { out?: string; verify?: string; publicKey?: string }) => {
      if (options.verify !== undefined) {
        let proof: unknown;
        try {
          proof = JSON.parse(await readInputFile(io, options.verify));
        } catch (error) {
          throw new ConfigError(`${options.verify}: not JSON (${(error as Error).message})`);
        }
        const pinned = options.publicKey === undefined ? undefined : await readVerifyingKey(options.publicKey);
        const problems = proofProblems(proof, pinned);
        if (problems.length > 0) {
          for (const problem of problems) io.out(`wrong: ${problem}`);
          io.err(`zalog: the proof does not hold (${problems.length} problem${problems.length === 1 ? '' : 's'})`);
          io.setExitCode(1);
          return;
        }
        const checked = proof as { vaults: { addresses: unknown[] }[]; totalBtc: string; height: number | null; keyId: string };
        io.out(`ok: ${checked.vaults.length} vaults, ${checked.vaults.reduce((n, v) => n + v.addresses.length, 0)} addresses re-derived from their descriptors, ${checked.totalBtc} BTC at height ${checked.height ?? 'none'}, signed by key ${checked.keyId}${pinned === undefined ? ' (the key inside the proof: pin the bank\'s with --public-key)' : ''}`);
        return;
      }
      const { key } = await loadSigningKey(runtime.config.proofKey);
      const proof = await runtime.withDatabase((db) => makeProof(db, key, new Date()));
      const text = JSON.stringify(proof, null, 2);
      if (options.out !== undefined) await writeOutputFile(io, options.out, `${text}\n`);
      else io.out(text);
    });
}

import type { Command } from 'commander';
import { ConfigError } from '../config.js';
import { jsonLine, type CliIo } from '../cli/io.js';
import { AddressChain, impliedNetwork, isVaultNetwork, MAX_INDEX, parseDescriptor, VAULT_NETWORKS, type VaultNetwork } from './descriptor.js';

/**
 * `zalog vault …`: for operators and auditors, without a database. `address` derives a vault's
 * addresses from its descriptor (what the borrower's own wallet shows for the same descriptor);
 * `checksum` prints a descriptor with its BIP-380 checksum after checking its keys. A malformed
 * descriptor or key exits 2 with the reason.
 */
export function registerVaultCommands(program: Command, io: CliIo): void {
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
}

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../test-support/database.js';
import { PROCESS_TEST_TIMEOUT_MS, runZalog } from '../test-support/process.js';

/** The command-line imports of issue 5, run as the real process on a PGlite data directory. */
describe.skipIf(testDatabaseUrl !== undefined)('zalog screening, registry, network and equipment commands', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(path.join(tmpdir(), 'zalog-cli-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  const zalog = (args: string[]) => runZalog(args, { dataDir: dir, env: { ZALOG_REGISTRY_URL: '' } });

  it('imports a list, an extract and network history, audited as the system user; refuses bad files with exit 2', async () => {
    const list = path.join(dir, 'list.csv');
    await writeFile(list, 'kind,value,name,program\ninn,7707083893,,stop list\nname,"Ivanov Ivan",,stop list\n');
    const imported = await zalog(['screening', 'import', '--name', 'stop-list', '--format', 'zalog_csv', '--version', '2026-11-24', list]);
    expect(imported.output).toMatch(/imported stop-list: 2 entries, 0 skipped; 0 new hits on 0 borrowers/);
    expect((await zalog(['screening', 'import', '--name', 'stop-list', '--format', 'zalog_csv', '--version', 'again', list])).output).toMatch(/already imported/);
    const extract = path.join(dir, 'extract.csv');
    await writeFile(extract, 'inn,number,included_on,status,excluded_on,exclusion_reason\n7707083893,M-1,2024-11-15,included,,\n');
    expect((await zalog(['registry', 'import', '--as-of', '2026-11-20', extract])).output).toMatch(/imported extract of 2026-11-20: 1 rows, 0 borrowers found/);
    const network = await zalog(['network', 'import', '--csv', path.resolve('../shared/data/btc_network_daily_blockchaincom_2010-01-01_2024-08-23.csv')]);
    expect(network.output).toMatch(/imported \d{4} of \d{4} days \(2010-\d\d-\d\d to 2024-08-0\d\)/);
    expect((await zalog(['equipment', 'revalue'])).output).toMatch(/no complete ASIC price index/);
    expect((await zalog(['registry', 'recheck'])).code).toBe(2); // no registry service configured
    const audit = await zalog(['audit', 'verify']);
    expect(audit.output).toMatch(/audit chain intact: 3 records/); // two list imports (one a no-op) and the extract
    const bad = await zalog(['screening', 'import', '--name', 'bad', '--format', 'zalog_csv', '--version', '1', extract]);
    expect(bad.code).toBe(2);
    expect(bad.output).toMatch(/no usable entry/);
    // A missing or unreadable file: one line naming it, exit 2, no stack trace.
    for (const args of [['registry', 'import', '--as-of', '2026-11-20', 'missing.csv'], ['screening', 'import', '--name', 'x', '--format', 'zalog_csv', '--version', '1', 'missing.csv'], ['network', 'import', '--csv', 'missing.csv'], ['network', 'import', '--csv', dir]]) {
      const missing = await zalog(args);
      expect(missing.code, args.join(' ')).toBe(2);
      expect(missing.output.trim().split('\n'), missing.output).toHaveLength(1);
      expect(missing.output).toMatch(/^zalog: .*(missing\.csv: no such file|is a directory, not a file)\n$/);
    }
  }, PROCESS_TEST_TIMEOUT_MS);
});

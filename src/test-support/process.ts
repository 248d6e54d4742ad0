import { spawn } from 'node:child_process';
import path from 'node:path';

/**
 * Tests that start `zalog` as real processes (each one compiles through tsx and opens PGlite, a few
 * seconds on an idle machine) wait for events, never for fixed times; this is only their upper
 * bound, sized for the smallest machine the README promises (2 cores) running the suite's two
 * workers and nothing to spare: several times what they take on an idle one.
 */
export const PROCESS_TEST_TIMEOUT_MS = 300_000;

export interface ZalogRun {
  readonly code: number | null;
  readonly stdout: string;
  /** Standard output and error, interleaved as they came. */
  readonly output: string;
}

/**
 * Runs `zalog ARGS` as a real process (through tsx, on the sources), on the embedded database in
 * `dataDir` unless the environment given says otherwise, with `input` on its standard input.
 */
export async function runZalog(args: readonly string[], options: { dataDir?: string; env?: Readonly<Record<string, string>>; input?: string } = {}): Promise<ZalogRun> {
  const env = { ...process.env, ...(options.dataDir === undefined ? {} : { DATABASE_URL: '', ZALOG_DATA_DIR: options.dataDir }), ...options.env };
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/cli/main.ts'), ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let output = '';
  child.stdout.on('data', (chunk) => { stdout += String(chunk); output += String(chunk); });
  child.stderr.on('data', (chunk) => { output += String(chunk); });
  child.stdin.on('error', () => {}); // a command that never reads its input may exit before we write it
  child.stdin.end(options.input ?? '');
  // 'close', not 'exit': the output is whole only once the pipes have closed.
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, output };
}

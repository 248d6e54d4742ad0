import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import { ConfigError } from '../config.js';
import type { Database } from '../db/database.js';

/**
 * What a `zalog` command talks to: its output, its input, the caller's directory and exit code,
 * and the database. The same commands run in the `zalog` process (on a database it opens) and
 * inside a running service that has the embedded database open (src/cli/control.ts), so no
 * command writes to `process.stdout` or sets `process.exitCode` itself.
 */
export interface CliIo {
  /** One line (or a block of lines) to standard output. */
  out(text: string): void;
  /** One line to standard error (progress, warnings). */
  err(text: string): void;
  readStdin(): Promise<string>;
  /** The caller's working directory: relative file names are read from there. */
  readonly cwd: string;
  /** The variables a command may read from its caller's environment (ZALOG_ADMIN_PASSWORD). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The operating-system account that ran the command, for the audit trail. */
  readonly user: string;
  setExitCode(code: number): void;
}

/** The caller's environment variables a command reads (and the control socket forwards). */
export const FORWARDED_ENV = ['ZALOG_ADMIN_PASSWORD'] as const;

export interface CliRuntime {
  readonly config: Config;
  /** Runs `work` on the configured database, migrated. */
  withDatabase<T>(work: (db: Database) => Promise<T>): Promise<T>;
  /** True when the command runs inside the service (through its control socket). */
  readonly inService: boolean;
}

export type WithDatabase = CliRuntime['withDatabase'];

/** Reads a file named on the command line; a missing or unreadable one is one line and exit 2. */
export async function readInputFile(io: CliIo, file: string): Promise<string> {
  const full = path.resolve(io.cwd, file);
  try {
    return await readFile(full, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a file' : code === 'EACCES' ? 'not readable (permission denied)' : (error as Error).message;
    throw new ConfigError(`${file}: ${why}`);
  }
}

/** Writes a file named on the command line (relative to the caller's directory); a failure is one line and exit 2. */
export async function writeOutputFile(io: CliIo, file: string, text: string): Promise<void> {
  const full = path.resolve(io.cwd, file);
  try {
    await writeFile(full, text);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such directory' : code === 'EISDIR' ? 'is a directory, not a file' : code === 'EACCES' ? 'not writable (permission denied)' : (error as Error).message;
    throw new ConfigError(`${file}: ${why}`);
  }
}

/** A bigint-safe JSON line. */
export const jsonLine = (value: unknown): string => JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

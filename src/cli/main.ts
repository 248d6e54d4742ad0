#!/usr/bin/env node
import os from 'node:os';
import { loadConfig, type Config } from '../config.js';
import { migrate } from '../db/migrate.js';
import { DatabaseLockedError, embeddedDatabaseFreed, embeddedDatabaseInUse, openDatabase } from '../db/open.js';
import type { Database } from '../db/database.js';
import { controlSocketPath, ControlUnavailableError, runThroughService } from './control.js';
import type { CliIo, CliRuntime } from './io.js';
import { buildProgram, reportError } from './program.js';

/**
 * The `zalog` command. Each command runs here, on the configured database; when that is an
 * embedded database a running service holds, the command is run by the service instead, through
 * its control socket (src/cli/control.ts), so the README's steps work while `npm start` runs.
 */

class RunInService extends Error {}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

// Output piped into a reader that stops early (`| head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => { if (error.code === 'EPIPE') process.exit(0); throw error; });

async function main(): Promise<number> {
  let stdin: Promise<string> | undefined;
  const io: CliIo = {
    out: (text) => { process.stdout.write(`${text}\n`); },
    err: (text) => { process.stderr.write(`${text}\n`); },
    readStdin: () => (stdin ??= readAll(process.stdin)),
    cwd: process.cwd(),
    env: process.env,
    user: os.userInfo().username,
    setExitCode: (code) => { process.exitCode = code; },
  };
  const runtime: CliRuntime = {
    get config(): Config { return loadConfig(); },
    inService: false,
    async withDatabase<T>(work: (db: Database) => Promise<T>): Promise<T> {
      const target = loadConfig().database;
      if (target.engine === 'pglite' && target.dataDir !== 'memory' && await embeddedDatabaseInUse(target.dataDir)) throw new RunInService();
      const db = await openDatabase(target);
      try {
        await migrate(db);
        return await work(db);
      } finally {
        await db.close();
      }
    },
  };
  const argv = process.argv.slice(2);
  for (let attempt = 0; ; attempt += 1) {
    try {
      await buildProgram(io, runtime).parseAsync(argv, { from: 'user' });
      return typeof process.exitCode === 'number' ? process.exitCode : 0;
    } catch (error) {
      if (!(error instanceof RunInService)) return reportError(io, error);
    }
    // The service has the embedded database: it runs the command (with the standard input this
    // process already read, if the command asked for it).
    const socket = controlSocketPath(loadConfig().dataDir);
    try {
      return await runThroughService(socket, argv, stdin === undefined ? '' : await stdin, io);
    } catch (error) {
      if (!(error instanceof ControlUnavailableError)) throw error;
      // No service answers: the lock may be a killed process's, fresh for a few seconds more.
      // Once it is stale the command runs here (once; a live holder keeps it fresh).
      const target = loadConfig().database;
      const dataDir = target.engine === 'pglite' ? target.dataDir : undefined;
      if (attempt === 0 && dataDir !== undefined && await embeddedDatabaseFreed(dataDir)) continue;
      return reportError(io, new DatabaseLockedError(`another zalog process is using the embedded database at ${dataDir ?? ''}, and no running service answers on ${socket}: wait for the service to finish starting and try again, or stop the other process`));
    }
  }
}

main().then((code) => {
  // Commands that finished leave nothing running; a usage error or failure exits at once.
  if (code !== 0) process.exit(code);
}, (error: unknown) => {
  process.stderr.write(`zalog: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});

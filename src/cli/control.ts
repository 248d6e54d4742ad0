import { chmod, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { FORWARDED_ENV, type CliIo } from './io.js';

/**
 * The service's control socket: how `zalog` commands reach an embedded database the service has
 * open. PGlite is one process's at a time (src/db/open.ts), so while `npm start` runs, a command
 * such as `zalog users create-admin` or `zalog eod` cannot open it; instead it sends its arguments
 * (and standard input, for a password) over a Unix socket in the data directory, the service runs
 * the same command on its own database, and streams the output and exit code back.
 *
 * Who may connect is decided by the file system: the socket is created with mode 0600 in the data
 * directory, so only the account that runs the service (or root) can use it: whoever can do that
 * can read the database files anyway. It is an operator's channel, not an API: the web app and
 * every other client use HTTP with its roles and four eyes.
 *
 * Protocol: one JSON line from the client `{ argv, cwd, stdin, user }`; then JSON lines from the
 * service `{ out }` / `{ err }`, and last `{ exit }`.
 */

export const CONTROL_SOCKET = 'zalog.sock';
const MAX_REQUEST_BYTES = 16 * 1_048_576;

export interface ControlRequest {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly stdin: string;
  /** Who ran the command (the client's own account name, as it says). */
  readonly user: string;
  /** The caller's values of FORWARDED_ENV. */
  readonly env: Readonly<Record<string, string>>;
}

export type RunCommand = (request: ControlRequest, io: CliIo) => Promise<number>;

export function controlSocketPath(dataDir: string): string {
  return path.join(dataDir, CONTROL_SOCKET);
}

function send(socket: Socket, message: Record<string, unknown>): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
}

/** Starts the control server; resolves to a function that stops it and removes the socket. */
export async function startControlServer(socketPath: string, run: RunCommand, log: { warn(object: object, message: string): void }): Promise<() => Promise<void>> {
  // A socket left by a killed service: the data directory's lock says it is ours now.
  await rm(socketPath, { force: true });
  const server: Server = createServer((socket) => {
    let buffered = '';
    let started = false;
    socket.setEncoding('utf8');
    socket.on('error', () => undefined);
    socket.on('data', (chunk: string) => {
      if (started) return;
      buffered += chunk;
      if (buffered.length > MAX_REQUEST_BYTES) {
        socket.destroy();
        return;
      }
      const end = buffered.indexOf('\n');
      if (end < 0) return;
      started = true;
      let request: ControlRequest;
      try {
        request = JSON.parse(buffered.slice(0, end)) as ControlRequest;
        if (!Array.isArray(request.argv) || !request.argv.every((a) => typeof a === 'string') || typeof request.cwd !== 'string' || typeof request.stdin !== 'string') throw new Error('malformed');
      } catch {
        send(socket, { err: 'zalog: the control request is malformed' });
        send(socket, { exit: 2 });
        socket.end();
        return;
      }
      const io: CliIo = {
        out: (text) => send(socket, { out: text }),
        err: (text) => send(socket, { err: text }),
        readStdin: () => Promise.resolve(request.stdin),
        cwd: request.cwd,
        env: Object.fromEntries(FORWARDED_ENV.flatMap((name) => (typeof request.env?.[name] === 'string' ? [[name, request.env[name]]] : []))),
        user: typeof request.user === 'string' ? request.user.slice(0, 64) : 'unknown',
        setExitCode: () => undefined,
      };
      let exitCode = 0;
      const withExit: CliIo = { ...io, setExitCode: (code) => { exitCode = code; } };
      run(request, withExit).then((code) => code, (error: unknown) => {
        log.warn({ err: error, argv: request.argv }, 'control command failed');
        return 1;
      }).then((code) => {
        send(socket, { exit: code !== 0 ? code : exitCode });
        socket.end();
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  await chmod(socketPath, 0o600);
  return async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(socketPath, { force: true });
  };
}

export class ControlUnavailableError extends Error {
  override readonly name = 'ControlUnavailableError';
}

/**
 * Runs a command in the service through its socket, mirroring its output and returning its exit
 * code. Rejects with ControlUnavailableError when nothing answers on the socket.
 */
export function runThroughService(socketPath: string, argv: readonly string[], stdin: string, io: CliIo): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let answered = false;
    let buffered = '';
    let exit: number | undefined;
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      answered = true;
      const env = Object.fromEntries(FORWARDED_ENV.flatMap((name) => (io.env[name] !== undefined ? [[name, io.env[name]!]] : [])));
      socket.write(`${JSON.stringify({ argv, cwd: io.cwd, stdin, user: io.user, env } satisfies ControlRequest)}\n`);
    });
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let end: number;
      while ((end = buffered.indexOf('\n')) >= 0) {
        const message = JSON.parse(buffered.slice(0, end)) as { out?: string; err?: string; exit?: number };
        buffered = buffered.slice(end + 1);
        if (message.out !== undefined) io.out(message.out);
        if (message.err !== undefined) io.err(message.err);
        if (message.exit !== undefined) exit = message.exit;
      }
    });
    socket.on('error', (error) => {
      if (!answered) reject(new ControlUnavailableError(`the service does not answer on ${socketPath} (${(error as Error).message})`));
      else reject(error);
    });
    socket.on('close', () => {
      if (!answered) return;
      if (exit === undefined) reject(new Error('the service closed the control socket before the command finished (did it stop?)'));
      else resolve(exit);
    });
  });
}

import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export async function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

export interface BackendProcess {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  output(): string;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The embedded backend as its own process (`node --import tsx bin/local.ts`, what `npm start`
 * runs), so that it can be killed with SIGKILL. Resolves once GET /health answers.
 */
export async function startBackendProcess(
  dataDir: string,
  env: Record<string, string> = {},
  port?: number,
): Promise<BackendProcess> {
  const listenOn = port ?? (await freePort());
  let output = '';
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, 'bin/local.ts')], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(listenOn), DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const url = `http://127.0.0.1:${listenOn}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`backend exited early:\n${output}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`backend did not become ready:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const exited = () =>
    new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', () => done());
    });
  return {
    url,
    port: listenOn,
    pid: child.pid!,
    output: () => output,
    kill9: async () => {
      const gone = exited();
      child.kill('SIGKILL');
      await gone;
    },
    stop: async () => {
      const gone = exited();
      child.kill('SIGTERM');
      await gone;
    },
  };
}

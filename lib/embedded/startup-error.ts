import { isAbsolute, relative, resolve } from 'node:path';

/**
 * Why `npm start` could not start, said in one line an operator can act on. Settings it refuses
 * (a malformed TIME_SCALE, a DATA_DIR another backend holds) are thrown as StartupError; what the
 * system refuses (a port in use, a directory that cannot be written) is recognised by its code.
 * Anything else is a bug, and keeps its stack.
 */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

export interface StartupSettings {
  /** As set (PORT may not be a number at all). */
  readonly port: number | string;
  readonly host: string;
  readonly dataDir: string;
}

/** The line to print, and whether the stack is worth printing too (an error nobody foresaw). */
export function startupProblem(error: unknown, settings: StartupSettings): { line: string; stack: boolean } {
  const line = (text: string) => ({ line: `Bridgeway could not start: ${text}`, stack: false });
  if (error instanceof StartupError) return line(error.message);
  const failure = error as NodeJS.ErrnoException;
  switch (failure?.code) {
    case 'EADDRINUSE':
      return line(
        `${settings.host}:${settings.port} is in use (another backend, or another program); stop it or set PORT to a free port.`,
      );
    case 'ERR_SOCKET_BAD_PORT':
      return line(`PORT must be a port number from 0 to 65535, not ${settings.port}.`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return line(`HOST ${settings.host} is not an address of this machine.`);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
    case 'ENOENT':
    case 'ENOTDIR':
    case 'ENOSPC':
      if (failure.syscall === 'listen')
        return line(`this user may not listen on port ${settings.port}; set PORT to 1024 or above.`);
      // Only a file of DATA_DIR is the operator's to fix; a file of the installation missing is a bug.
      if (!isWithin(failure.path, settings.dataDir)) return unforeseen(error);
      return line(
        `DATA_DIR ${settings.dataDir} cannot be written (${failure.code} on ${failure.path ?? 'a file in it'}); choose a directory this user can write, with room to spare.`,
      );
    default:
      return unforeseen(error);
  }
}

function unforeseen(error: unknown) {
  return { line: `Bridgeway could not start: ${(error as Error)?.message ?? String(error)}`, stack: true };
}

function isWithin(path: string | undefined, directory: string): boolean {
  if (!path) return false;
  const from = relative(resolve(directory), resolve(path));
  return from === '' || (!from.startsWith('..') && !isAbsolute(from));
}

import { describe, expect, it } from 'vitest';
import { StartupError, startupProblem } from '../../lib/embedded/startup-error.js';

const settings = { port: 3000, host: '127.0.0.1', dataDir: '/srv/bridgeway' };
const systemError = (code: string, syscall: string, path?: string) =>
  Object.assign(new Error(`${code}: ${syscall}`), { code, syscall, ...(path ? { path } : {}) });

describe('why npm start could not start, in one line', () => {
  it('says a setting it refused as it was refused, without a stack', () => {
    const problem = startupProblem(
      new StartupError('TIME_SCALE must be a positive number or "manual": abc'),
      settings,
    );

    expect(problem).toEqual({
      line: 'Bridgeway could not start: TIME_SCALE must be a positive number or "manual": abc',
      stack: false,
    });
  });

  it('names the port in use and what to do about it', () => {
    const problem = startupProblem(systemError('EADDRINUSE', 'listen'), settings);

    expect(problem.line).toBe(
      'Bridgeway could not start: 127.0.0.1:3000 is in use (another backend, or another program); stop it or set PORT to a free port.',
    );
    expect(problem.stack).toBe(false);
  });

  it('tells a port it may not listen on from a data directory it may not write', () => {
    const port = startupProblem(systemError('EACCES', 'listen'), { ...settings, port: 80 });
    const directory = startupProblem(systemError('EACCES', 'mkdir', '/srv/bridgeway'), settings);
    const badPort = startupProblem(systemError('ERR_SOCKET_BAD_PORT', 'listen'), {
      ...settings,
      port: 'abc',
    });

    expect(port.line).toContain('may not listen on port 80');
    expect(directory.line).toContain('DATA_DIR /srv/bridgeway cannot be written (EACCES on /srv/bridgeway)');
    expect(badPort.line).toContain('PORT must be a port number from 0 to 65535, not abc');
  });

  it('keeps the stack of a file missing outside the data directory: the installation, not a setting', () => {
    const problem = startupProblem(
      systemError('ENOENT', 'open', '/opt/bridgeway/web/dist/index.html'),
      settings,
    );

    expect(problem.stack).toBe(true);
    expect(problem.line).toBe('Bridgeway could not start: ENOENT: open');
  });

  it('keeps the stack of an error nobody foresaw', () => {
    const problem = startupProblem(new TypeError('cannot read properties of undefined'), settings);

    expect(problem).toEqual({
      line: 'Bridgeway could not start: cannot read properties of undefined',
      stack: true,
    });
  });
});

import { connect, type Socket } from 'node:net';

/** What came back on a raw connection: the status (0 when none) and the body, or that it was closed. */
export interface RawAnswer {
  readonly status: number;
  readonly body: string;
  /** The server closed the connection (after answering, or without an answer). */
  readonly closed: boolean;
}

/**
 * HTTP/1.1 spoken by hand, for what fetch will not send: malformed targets, headers
 * with no body behind them, bodies that stall or never end. `send` writes to the
 * socket; `answer` settles with the first complete answer (or when the server closes
 * the connection without one), `closed` when the server has closed the connection.
 */
export function rawExchange(
  port: number,
  send: (socket: Socket) => unknown,
): { answer: Promise<RawAnswer>; closed: Promise<RawAnswer>; socket: Socket } {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  let received = Buffer.alloc(0);
  const answerOf = (closed: boolean): RawAnswer => {
    const parsed = parse(received);
    return { status: parsed?.status ?? 0, body: parsed?.body ?? '', closed };
  };
  const closed = new Promise<RawAnswer>((resolve) => socket.on('close', () => resolve(answerOf(true))));
  const answer = new Promise<RawAnswer>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (parse(received)) resolve(answerOf(false));
    });
    void closed.then(resolve);
  });
  socket.once('connect', () => void send(socket));
  return { answer, closed, socket };
}

/** Status and body of the first answer once it is complete (content-length bodies only). */
function parse(bytes: Buffer): { status: number; body: string } | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = bytes.subarray(0, end).toString('latin1');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
  const body = bytes.subarray(end + 4);
  if (body.length < length) return undefined;
  return { status, body: body.subarray(0, length).toString('utf8') };
}

/** Writes and waits until the socket took it (or failed: then false). */
export function write(socket: Socket, data: string | Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) {
      resolve(false);
      return;
    }
    socket.write(data, (error) => resolve(!error));
  });
}

/** A request's head, CRLF-terminated, from a start line and headers. */
export function head(startLine: string, headers: Record<string, string | number> = {}): string {
  const lines = Object.entries({ host: 'localhost', ...headers }).map(([name, value]) => `${name}: ${value}`);
  return `${startLine}\r\n${lines.join('\r\n')}\r\n\r\n`;
}

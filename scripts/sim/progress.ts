/** A one-line progress display on stderr, rewritten in place with `\r` (plain lines when not a terminal). */
export class Progress {
  private lastWidth = 0;
  private lastDraw = 0;
  private lastPlainDay = -1;

  constructor(
    private readonly enabled: boolean,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(
    state: {
      day: number;
      days: number;
      date: string;
      backendDay: string;
      behind: number;
      requests: number;
      errors: number;
      rate: number;
    },
    force = false,
  ): void {
    if (!this.enabled) return;
    const line =
      `day ${state.day}/${state.days} ${state.date} | backend ${state.backendDay}` +
      `${state.behind > 0 ? ` (${state.behind} behind)` : ''} | requests ${state.requests}` +
      ` | errors ${state.errors} | ${state.rate.toFixed(0)} req/s`;
    if (this.stream.isTTY) {
      const now = Date.now();
      if (!force && now - this.lastDraw < 100) return;
      this.lastDraw = now;
      this.stream.write(`\r${line.padEnd(this.lastWidth)}`);
      this.lastWidth = line.length;
    } else if (force || state.day - this.lastPlainDay >= 10) {
      this.lastPlainDay = state.day;
      this.stream.write(`${line}\n`);
    }
  }

  /** Ends the progress line so that ordinary output starts on a fresh line. */
  done(): void {
    if (this.enabled && this.stream.isTTY && this.lastWidth > 0) this.stream.write('\n');
    this.lastWidth = 0;
  }

  /** Writes a message above the progress line. */
  note(message: string, log: (line: string) => void): void {
    if (this.enabled && this.stream.isTTY && this.lastWidth > 0) {
      this.stream.write(`\r${' '.repeat(this.lastWidth)}\r`);
      this.lastWidth = 0;
    }
    log(message);
  }
}

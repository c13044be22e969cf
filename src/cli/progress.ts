/**
 * A one-line progress display on stderr: redrawn in place on a terminal, a line every few
 * seconds otherwise (CI logs), nothing with --json.
 */
export interface ProgressSnapshot {
  done: number;
  total: number;
  label: string;
  extra?: string;
  /** Print this line now even where lines are otherwise printed every few seconds (a new warning). */
  force?: boolean;
}

/** What to write before a line of its own on stderr so it does not run into a progress line drawn in place. */
export function progressBreak(stream: NodeJS.WriteStream = process.stderr): string {
  return stream.isTTY ? '\r\x1b[2K' : '';
}

export class Progress {
  readonly #stream: NodeJS.WriteStream;
  readonly #enabled: boolean;
  readonly #started = Date.now();
  #lastLine = Date.now();
  #samples: { t: number; done: number }[] = [];

  constructor(enabled: boolean, stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
    this.#enabled = enabled;
  }

  update(s: ProgressSnapshot): void {
    if (!this.#enabled) return;
    const now = Date.now();
    this.#samples.push({ t: now, done: s.done });
    while (this.#samples.length > 2 && now - this.#samples[0]!.t > 10_000) this.#samples.shift();
    const first = this.#samples[0]!;
    const rate = now > first.t ? ((s.done - first.done) * 1000) / (now - first.t) : 0;
    const pct = s.total > 0 ? Math.min(1, s.done / s.total) : 0;
    const width = 24;
    const bar = '█'.repeat(Math.round(pct * width)).padEnd(width, '░');
    const eta = rate > 0 && s.total > s.done ? ` ETA ${fmtDuration(((s.total - s.done) / rate) * 1000)}` : '';
    const line = `${bar} ${s.done}/${s.total} ${s.label}  ${rate.toFixed(0)}/s${eta}  ${fmtDuration(now - this.#started)}${s.extra ? `  ${s.extra}` : ''}`;
    if (this.#stream.isTTY) this.#stream.write(`\r\x1b[2K${line}`);
    else if (s.force || now - this.#lastLine >= 5000) {
      this.#stream.write(`${line}\n`);
      this.#lastLine = now;
    }
  }

  done(): void {
    if (this.#enabled && this.#stream.isTTY) this.#stream.write('\n');
  }
}

export function fmtDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** How commands print: human text on stdout, or one JSON document with --json. */
export interface Output {
  json: boolean;
  /** Prints the result: JSON when --json, else the text from `human`. */
  result<T>(value: T, human: (v: T) => string): void;
  /** A progress or info line on stderr (silent with --json unless `always`). */
  info(line: string): void;
}

export function createOutput(json: boolean, stdout = process.stdout, stderr = process.stderr): Output {
  return {
    json,
    result(value, human) {
      stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human(value)}\n`);
    },
    info(line) {
      if (!json) stderr.write(`${line}\n`);
    },
  };
}

/** Formats rows as an aligned text table. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const all = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** Dollars as every command prints them: `$0.000123`. */
export function usd(x: number): string {
  return `$${x.toFixed(6)}`;
}

/** The line `spend` and `log` print under their tables when attempts may have been billed unrecorded. */
export function possiblyBilledNote(calls: number, tokens: number, dollars: number): string {
  return (
    `possibly billed: ${calls} attempt${calls === 1 ? '' : 's'}, ~${tokens} tokens, ~${usd(dollars)} (estimated), not in SPENT: ` +
    'sent but never answered (a timeout, a dropped connection, a worker stopped mid-call) or still in flight; the provider\'s invoice has the last word'
  );
}

/**
 * Progress of a long run: one line rewritten in place on a terminal, a log line every
 * `everyMs` otherwise (CI logs, the service's own schedule).
 */
export interface Progress {
  update(counts: Record<string, number>): void;
  done(counts: Record<string, number>): void;
}

export function terminalProgress(label: string, stream: NodeJS.WriteStream = process.stderr, everyMs = 10_000): Progress {
  let last = 0;
  const line = (counts: Record<string, number>) =>
    `${label}: ${Object.entries(counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')}`;
  return {
    update(counts) {
      const now = Date.now();
      if (stream.isTTY) {
        if (now - last < 100) return;
        stream.write(`\r${line(counts)}\u001b[K`);
      } else {
        if (now - last < everyMs) return;
        stream.write(`${line(counts)}\n`);
      }
      last = now;
    },
    done(counts) {
      stream.write(`${stream.isTTY ? '\r' : ''}${line(counts)}${stream.isTTY ? '\u001b[K' : ''}\n`);
    },
  };
}

/** Progress as log lines (the service's scheduled runs). */
export function loggedProgress(log: (counts: Record<string, number>, message: string) => void, label: string, everyMs = 30_000): Progress {
  let last = Date.now();
  return {
    update(counts) {
      if (Date.now() - last < everyMs) return;
      last = Date.now();
      log(counts, `${label} in progress`);
    },
    done(counts) {
      log(counts, `${label} finished`);
    },
  };
}

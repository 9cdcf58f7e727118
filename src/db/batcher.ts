interface Waiting<I, O> {
  input: I;
  resolve: (output: O) => void;
  reject: (error: unknown) => void;
}

/** Runs a batch of inputs as one operation; answers one output per input, in their order. */
export type BatchRun<I, O> = (inputs: I[]) => Promise<O[]>;

/**
 * Runs the requests of many concurrent callers as one database operation: requests that arrive
 * while an operation is in flight wait and go together in the next one. Each caller's promise
 * settles with its own output once the operation holding its input is done, or rejects with the
 * operation's error. A lone request waits only for the current event-loop turn, so light traffic
 * pays no added latency. Intake's group commit and the entitlement lookups use it.
 */
export class Batcher<I, O> {
  private waiting: Waiting<I, O>[] = [];
  private running = false;

  constructor(
    private readonly run: BatchRun<I, O>,
    private readonly maxBatch = 256,
  ) {}

  submit(input: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      if (this.running) return;
      this.running = true;
      // Start on the next turn of the event loop, so every request read in this turn joins the
      // batch: better-sqlite3 answers synchronously, and an immediate run would always be alone.
      setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.maxBatch);
      try {
        const outputs = await this.run(batch.map((w) => w.input));
        for (const [i, w] of batch.entries()) w.resolve(outputs[i]!);
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    this.running = false;
  }
}

import type { FastifyBaseLogger } from 'fastify';
import type { AlertSettings } from '../config/index.js';
import { NamedLock, type Store } from '../db/index.js';
import { type AlertCondition, type AlertState, evaluateAlerts, type Observation } from './alert-rules.js';
import { observeQueue } from './health.js';
import type { Metrics } from './metrics.js';

/**
 * Posts Slack-compatible `{"text": …}` alerts to ALERT_WEBHOOK_URL. Database conditions (dead
 * events, failures, backlog) are watched by one process at a time (a lock row); signature
 * failures are counted where they happen, so every intake process watches its own. Sending
 * happens off the request and processing paths: a failing receiver is logged and nothing waits.
 */
export class AlertMonitor {
  private state: AlertState = {};
  private timer: NodeJS.Timeout | undefined;
  private readonly signatureSamples: { at: number; total: number }[] = [];
  private readonly lock: NamedLock;
  private checking = false;

  constructor(
    private readonly store: Store,
    private readonly metrics: Metrics,
    private readonly settings: AlertSettings,
    private readonly logger: FastifyBaseLogger,
    owner: string,
    private readonly watchSignatures: boolean,
    private readonly now: () => number = Date.now,
  ) {
    this.lock = new NamedLock(store, 'alert-monitor', owner, Math.max(3 * settings.checkIntervalMs, 15_000), now, (error) =>
      logger.warn({ err: error }, 'could not renew the alert monitor lock'),
    );
  }

  start(): void {
    this.timer = setInterval(() => void this.check(), this.settings.checkIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.lock.release().catch(() => {});
  }

  /** One evaluation: observe, decide (pure), send. Never throws. */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const now = this.now();
      const observations: Partial<Record<AlertCondition, Observation>> = {};
      if (this.watchSignatures) observations.signature_failures = await this.observeSignatures(now);
      if ((await this.lock.tryAcquire().catch(() => undefined))?.acquired)
        Object.assign(observations, await observeQueue(this.store.db, this.settings, now));
      const { state, notifications } = evaluateAlerts(this.state, observations, now, this.settings.windowMs);
      this.state = state;
      for (const notification of notifications) {
        this.logger.warn({ alert: notification.condition, kind: notification.kind }, notification.text);
        void this.send(notification.text);
      }
    } catch (error) {
      this.logger.error({ err: error }, 'alert check failed');
    } finally {
      this.checking = false;
    }
  }

  private async observeSignatures(now: number): Promise<Observation> {
    const total = (await this.metrics.signatureFailures.get()).values.reduce((sum, v) => sum + v.value, 0);
    this.signatureSamples.push({ at: now, total });
    while (this.signatureSamples.length > 1 && this.signatureSamples[1]!.at <= now - this.settings.windowMs) this.signatureSamples.shift();
    const inWindow = total - this.signatureSamples[0]!.total;
    return {
      firing: inWindow >= this.settings.signatureFailureThreshold,
      value: inWindow,
      detail: `${inWindow} refused signature(s) in the last ${Math.round(this.settings.windowMs / 60_000)} min (threshold ${this.settings.signatureFailureThreshold}): a wrong STRIPE_WEBHOOK_SECRET after a rotation, or forged requests`,
    };
  }

  private async send(text: string): Promise<void> {
    try {
      const response = await fetch(this.settings.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text }),
        signal: AbortSignal.timeout(5000),
      });
      await response.arrayBuffer();
      if (!response.ok) this.logger.error({ status: response.status }, 'alert receiver refused an alert');
    } catch (error) {
      this.logger.error({ err: error }, 'alert receiver unreachable; the alert was not delivered');
    }
  }
}

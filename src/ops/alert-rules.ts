/**
 * When the built-in alerts notify: a pure function of the previous state, what was observed and
 * the clock. A condition notifies when it starts firing, reminds at most once per window while it
 * keeps firing and gets worse, and says "resolved" once when it clears.
 */

export type AlertCondition = 'dead_events' | 'processing_failures' | 'pending_backlog' | 'signature_failures';

export interface Observation {
  firing: boolean;
  /** The measured value (count, age in seconds); a reminder needs it to have grown. */
  value: number;
  /** What to say, in words, when notifying. */
  detail: string;
}

interface ConditionState {
  firing: boolean;
  lastNotifiedAt: number | null;
  lastNotifiedValue: number;
}

export type AlertState = Partial<Record<AlertCondition, ConditionState>>;

export interface Notification {
  condition: AlertCondition;
  kind: 'firing' | 'reminder' | 'resolved';
  text: string;
}

export const ALERT_TITLES: Record<AlertCondition, string> = {
  dead_events: 'Dead webhook events',
  processing_failures: 'Webhook processing failures',
  pending_backlog: 'Webhook backlog',
  signature_failures: 'Webhook signature failures',
};

export function evaluateAlerts(
  state: AlertState,
  observations: Partial<Record<AlertCondition, Observation>>,
  now: number,
  windowMs: number,
): { state: AlertState; notifications: Notification[] } {
  const next: AlertState = { ...state };
  const notifications: Notification[] = [];
  for (const [condition, observation] of Object.entries(observations) as [AlertCondition, Observation][]) {
    const previous = state[condition] ?? { firing: false, lastNotifiedAt: null, lastNotifiedValue: 0 };
    const title = ALERT_TITLES[condition];
    if (observation.firing && !previous.firing) {
      notifications.push({ condition, kind: 'firing', text: `🔴 ${title}: ${observation.detail}` });
      next[condition] = { firing: true, lastNotifiedAt: now, lastNotifiedValue: observation.value };
    } else if (observation.firing) {
      const windowPassed = previous.lastNotifiedAt === null || now - previous.lastNotifiedAt >= windowMs;
      if (windowPassed && observation.value > previous.lastNotifiedValue) {
        notifications.push({ condition, kind: 'reminder', text: `🔴 ${title} (still firing): ${observation.detail}` });
        next[condition] = { firing: true, lastNotifiedAt: now, lastNotifiedValue: observation.value };
      }
    } else if (previous.firing) {
      notifications.push({ condition, kind: 'resolved', text: `✅ ${title} resolved: ${observation.detail}` });
      next[condition] = { firing: false, lastNotifiedAt: now, lastNotifiedValue: 0 };
    }
  }
  return { state: next, notifications };
}

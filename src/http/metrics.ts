import type { Counter, Histogram } from 'prom-client';

/**
 * The metrics every answer is counted in. Declared here rather than taken from ops' Metrics
 * (which has them) so that http, which ops builds on, depends on no other folder for them.
 */
export interface HttpMetrics {
  httpResponses: Counter<'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
}

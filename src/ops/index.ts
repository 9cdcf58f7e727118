/** Operations: health, readiness, Prometheus metrics, built-in alerts, the admin API and its views. */
export { adminRoutes, EVENT_STATUSES } from './admin.js';
export { AlertMonitor } from './alerts.js';
export { createMetrics, type Metrics } from './metrics.js';
export { opsRoutes } from './routes.js';
export { eventDetail, listEvents, resetUsageView, statsView, usageView, userDetail } from './views.js';

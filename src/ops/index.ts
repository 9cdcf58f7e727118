/** Operations: health, readiness, Prometheus metrics, built-in alerts, the admin API and its views. */
export { type AdminOptions, adminRoutes, EVENT_STATUSES } from './admin.js';
export { AlertMonitor } from './alerts.js';
export { activityView, alertsView } from './health.js';
export { createMetrics, type Metrics } from './metrics.js';
export { opsRoutes } from './routes.js';
export {
  type EventSummary,
  eventDetail,
  findUsers,
  InvalidCursorError,
  listEvents,
  resetUsageView,
  statsView,
  usageView,
  userDetail,
} from './views.js';

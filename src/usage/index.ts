/** Usage quotas and their counts: the pure rules, the counts in the database, the routes. */
export { UsageQuotas, usageRoutes } from './routes.js';

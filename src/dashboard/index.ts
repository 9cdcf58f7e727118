/** The operator's dashboard: server-rendered pages under /dashboard/, signed in with ADMIN_TOKEN. */
export { secureCookies } from './auth.js';
export { dashboardRoutes } from './routes.js';

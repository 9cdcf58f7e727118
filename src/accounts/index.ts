/** Restore a purchase on any device: sign-in by an emailed code, joining an install to the email's account. */
export { ACCOUNT_LIMITS, accountRoutes } from './routes.js';

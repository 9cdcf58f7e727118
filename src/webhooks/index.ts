/** Intake: `POST /webhooks/stripe`, verified, stored durably (deduplicated by id), and only then answered. */
export { readEnvelope } from './envelope.js';
export { expectedLivemode } from './livemode.js';
export { IntakeLoad, webhookRoutes } from './routes.js';
export { storeEvent } from './store-event.js';

/** Every environment variable, read and validated once at start; this folder imports no other. */

export { ConfigError, loadConfig } from './load.js';
export { parseDuration, parseDurationList } from './parse.js';
export { generateSigningKey } from './signing-keys.js';
export type * from './types.js';
export { DEFAULT_ALERT_THRESHOLDS, DEFAULT_HTTP_TIMEOUTS, DEFAULT_RATE_LIMITS } from './types.js';

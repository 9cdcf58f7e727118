/** Users of the extension: anonymous accounts per install, the seller's JWT sign-in, bearer tokens, rate limits. */

export { Authenticator, bearerTokenHash, createUser, hashToken, type Install, newUserId, unauthorized, userRoutes } from './accounts.js';
export { AuthUnavailableError, jwtVerifier } from './jwt.js';
export { FixedWindowCounter, rateLimitHooks } from './rate-limit.js';

/** Users of the extension: anonymous accounts per install, the seller's JWT sign-in, bearer tokens, rate limits. */

export { Authenticator, bearerTokenHash, createUser, hashToken, unauthorized, userRoutes } from './accounts.js';
export { AuthUnavailableError, jwtVerifier } from './jwt.js';
export { rateLimitHooks } from './rate-limit.js';

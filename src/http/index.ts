/** What every answer shares: timeouts and limits, security headers, CORS, refusals before routing, strict bodies. */
export { invalidRequest, NO_FIELDS, parseInput } from './invalid-request.js';
export { secretMatches } from './secrets.js';
export { httpServerOptions, installHttpSurface, OneLinePerRequest } from './surface.js';

import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

/** The body of a route that takes no fields: none, empty, or `{}`. */
export const NO_FIELDS = z.strictObject({});

/** Field names are the caller's text: only short plain ones are repeated back (and logged), and only a few. */
const SHOWABLE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_SHOWN_NAMES = 5;

type InputPart = 'body' | 'query';
const UNKNOWN = { body: 'unknown field', query: 'unknown query parameter' } as const;

function unknownNames(part: InputPart, names: readonly string[]): string {
  const shown = names.filter((name) => SHOWABLE_NAME.test(name)).slice(0, MAX_SHOWN_NAMES);
  const hidden = names.length - shown.length;
  const list =
    shown.length === 0
      ? `(${hidden} name${hidden === 1 ? '' : 's'} not shown)`
      : `${shown.join(', ')}${hidden ? ` and ${hidden} more` : ''}`;
  return `${UNKNOWN[part]}${names.length === 1 ? '' : 's'}: ${list}`;
}

/** One clause per problem, e.g. `unknown field: price_id; priceId: Invalid input: expected string, received number`. */
function describeIssues(part: InputPart, error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      // Zod's own message for unknown keys quotes them whatever they are.
      const where = issue.path.join('.');
      if (issue.code === 'unrecognized_keys') return `${where ? `${where}: ` : ''}${unknownNames(part, issue.keys)}`;
      return `${where || part}: ${issue.message}`;
    })
    .join('; ');
}

/** The one answer to input a route refuses: 400 `invalid_request`; the reason also goes on the request's log line. */
export function invalidRequest(reply: FastifyReply, message: string) {
  reply.request.logLine = { msg: 'request', facts: { error: 'invalid_request', reason: message } };
  return reply.code(400).send({ error: 'invalid_request', message });
}

/**
 * The request's JSON body (no body counts as `{}`, as an empty one does) or its query string,
 * parsed with the route's strict schema. When it does not fit, answers `invalidRequest` and
 * returns undefined: the handler then returns `reply`.
 */
export function parseInput<Schema extends z.ZodType>(
  schema: Schema,
  part: InputPart,
  request: FastifyRequest,
  reply: FastifyReply,
): z.output<Schema> | undefined {
  const parsed = schema.safeParse(part === 'body' ? (request.body === undefined ? {} : request.body) : request.query);
  if (parsed.success) return parsed.data;
  invalidRequest(reply, describeIssues(part, parsed.error));
  return undefined;
}

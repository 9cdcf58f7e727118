import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { UsageLimits } from './types.js';

/**
 * USAGE_LIMITS (inline JSON) or USAGE_LIMITS_FILE (a path to the same JSON): per feature, a limit
 * per plan key (`free`, a price id, a product id). A problem names the path of the wrong field.
 */

const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
const PERIODS = ['day', 'month', 'billing_period', 'lifetime'] as const;

const planLimit = z
  .object({
    limit: z.number().int('must be a whole number').min(0, 'must be at least 0').max(1_000_000_000).nullable(),
    per: z
      .enum(PERIODS, { message: `must be one of ${PERIODS.join(', ')}` })
      .nullable()
      .optional(),
  })
  .strict()
  .refine((plan) => plan.limit === null || (plan.per !== undefined && plan.per !== null), {
    message: 'a limit needs "per"',
    path: ['per'],
  });

const limitsSchema = z.record(
  z.string().regex(NAME, 'a feature name is 1 to 64 letters, digits or . _ : -'),
  z.record(z.string().regex(NAME, 'a plan is "free", a price id or a product id'), planLimit),
);

/** The parsed limits, or the problems (each naming its variable and the field's path). */
export function parseUsageLimits(inline: string | undefined, file: string | undefined): UsageLimits | string[] {
  if (inline && file) return ['USAGE_LIMITS, USAGE_LIMITS_FILE: set one of them, not both'];
  const variable = file ? 'USAGE_LIMITS_FILE' : 'USAGE_LIMITS';
  let text = inline;
  if (file) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      return [`USAGE_LIMITS_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`];
    }
  }
  if (text === undefined) return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return [`${variable}: is not valid JSON`];
  }
  const parsed = limitsSchema.safeParse(json);
  if (!parsed.success)
    return parsed.error.issues.map((issue) => `${variable}: ${issue.path.join('.') || '(the whole value)'}: ${issue.message}`);
  const limits: UsageLimits = {};
  for (const [feature, plans] of Object.entries(parsed.data)) {
    limits[feature] = Object.fromEntries(Object.entries(plans).map(([plan, { limit, per }]) => [plan, { limit, per: per ?? null }]));
  }
  return limits;
}

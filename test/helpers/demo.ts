import { playDemo, STRIPE_SECRET_KEY, WEBHOOK_SECRET } from '../../tools/demo.js';
import type { StripeStandIn } from '../../tools/stripe-stand-in/server.js';
import { capture, capturingStream, registerSecret } from './log-scan.js';

/**
 * `npm run demo` against `standIn`, with what it prints and what its service writes captured
 * for the after-file secrets scan; the lines it printed, and its exit code.
 */
export async function runDemo(standIn: StripeStandIn): Promise<{ lines: string[]; exitCode: number }> {
  registerSecret("the demo's webhook secret", WEBHOOK_SECRET);
  registerSecret("the demo's Stripe key", STRIPE_SECRET_KEY);
  // The address the demo's buyer types at Checkout: neither the demo nor its service may print it whole.
  registerSecret("the demo buyer's email", 'buyer@demo.example');
  const lines: string[] = [];
  const printed = capture('npm run demo', 'stdout');
  const service = { stdout: capturingStream("the demo's service", 'stdout'), stderr: capturingStream("the demo's service", 'stderr') };
  const exitCode = await playDemo(
    standIn,
    (line) => {
      lines.push(line);
      printed.text += `${line}\n`;
    },
    service,
  );
  return { lines, exitCode };
}

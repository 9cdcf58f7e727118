import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A local SMTP server for the demo (the `smtp-server` package): plain SMTP on loopback, no auth, every message kept. */
export interface Inbox {
  /** `smtp://127.0.0.1:<port>`, for the service's SMTP_URL. */
  url: string;
  /** The only 6-digit number of the newest message to `to` after the first `after` of them; throws after `timeoutMs`. */
  code(to: string, options?: { after?: number; timeoutMs?: number }): Promise<string>;
  countTo(to: string): number;
  close(): Promise<void>;
}

export async function startInbox(): Promise<Inbox> {
  const messages: { to: string[]; text: string }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          messages.push({ to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()), text: mail.text ?? '' });
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  const to = (address: string) => messages.filter((m) => m.to.includes(address.trim().toLowerCase()));
  return {
    url: `smtp://127.0.0.1:${port}`,
    countTo: (address) => to(address).length,
    async code(address, { after = 0, timeoutMs = 10_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const received = to(address);
        if (received.length > after) {
          const codes = received.at(-1)!.text.match(/\b\d{6}\b/g) ?? [];
          if (codes.length !== 1) throw new Error(`the message holds ${codes.length} 6-digit numbers, not one`);
          return codes[0]!;
        }
        if (Date.now() > deadline) throw new Error(`no message arrived within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

import { createServer, type IncomingMessage } from 'node:http';

/** A local HTTP endpoint that records JSON bodies posted to it (an alert receiver, for example). */
export interface Receiver {
  url: string;
  bodies: any[];
  /** The status the next requests are answered with. */
  status: number;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of request) body += chunk;
  return body;
}

export async function startReceiver(): Promise<Receiver> {
  const receiver = { bodies: [] as any[], status: 200 } as Receiver;
  const server = createServer(async (request, response) => {
    receiver.bodies.push(JSON.parse(await readBody(request)));
    response.writeHead(receiver.status).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks/alerts`;
  receiver.close = () => new Promise((resolve) => server.close(() => resolve()));
  return receiver;
}

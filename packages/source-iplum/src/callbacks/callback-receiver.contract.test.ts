import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { Agent, request } from 'undici';
import { sourceContract } from '@plumline/core/testing';
import { iplumCallbacksSource } from './callback-receiver.js';

const SECRET = 'contract-secret-0123';
let port = 0;
let busy: Server;
beforeAll(async () => {
  // A port held by another listener, for the failing config.
  busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));
});
afterAll(() => new Promise<void>((r) => busy.close(() => r())));

let n = 0;
/** What iPlum posts for one call (the usage callback). */
const usage = () => {
  const id = `rec-${++n}`;
  return { source: 'iPlum', clientReferenceId: '1234', usage: 'call', recordId: id, from: '+14081231234', to: '+14085550100', startTimeUTC: '2026-03-24T00:00:00Z', endTimeUTC: '2026-03-24T00:01:00Z', duration: '60', direction: 'in', type: 'external', iPlumCredits: 1, userId: 'agent@acme-voice.com' };
};

sourceContract({
  plugin: iplumCallbacksSource,
  config: () => ({ listen: `127.0.0.1:${port}`, auth: { header: { value: SECRET } } }),
  failingConfig: () => ({ listen: `127.0.0.1:${(busy.address() as { port: number }).port}`, auth: { header: { value: SECRET } } }),
  push: async (config, count) => {
    // Its own connections: each check's receiver listens on the same port, and a kept-alive
    // connection to the previous one would be dead.
    const dispatcher = new Agent();
    try {
      for (let i = 0; i < count; i++) {
        const res = await request(`http://${config.listen as string}/iplum/callbacks`, { dispatcher, method: 'POST', headers: { 'content-type': 'application/json', 'x-plumline-secret': SECRET }, body: JSON.stringify(usage()) });
        await res.body.text();
        if (res.statusCode !== 200) throw new Error(`callback answered ${res.statusCode}`);
      }
    } finally {
      await dispatcher.close();
    }
  },
});

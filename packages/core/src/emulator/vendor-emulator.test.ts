import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../util/clock.js';
import { FakeClock } from '../testing/fake-clock.js';
import { ARRIVALS_KEPT, countIn, readBody, VendorEmulator, type EmulatorFaults, type EmulatorStats } from './vendor-emulator.js';

type Fault = { status: 503 } | { delayMs: number } | { crash: true };

/** The smallest vendor: echoes the body it got, counts paths; answers 503 or throws when a fault says so. */
class EchoEmulator extends VendorEmulator<Fault, EmulatorFaults<Fault>, EmulatorStats & { byPath: Record<string, number> }> {
  constructor(port = 0, faults?: EmulatorFaults<Fault>, clock?: Clock) {
    super({ port, basePath: '/api/', clock }, faults, { requests: 0, arrivals: [], byPath: {} });
  }
  protected failureBody(message: string): string {
    return JSON.stringify({ failed: message });
  }
  protected async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    this.arrived();
    countIn(this.stats.byPath, url.pathname);
    const body = await readBody(req);
    const fault = this.nextFault();
    await this.delay(fault);
    if (fault && 'crash' in fault) throw new Error('the handler broke');
    if (fault && 'status' in fault) return void res.writeHead(fault.status).end();
    res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
  }
}

const started: EchoEmulator[] = [];
async function start(e = new EchoEmulator()): Promise<[EchoEmulator, string]> {
  started.push(e);
  return [e, await e.start()];
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((e) => e.stop()));
});

describe('VendorEmulator: what every vendor emulator shares', () => {
  it('listens on a free port and names its base path; a port in use rejects the start', async () => {
    const [, url] = await start();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
    const port = Number(new URL(url).port);
    await expect(new EchoEmulator(port).start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('takes faults by POST /_emulator/faults, one queued fault per request, in order', async () => {
    const [e, url] = await start();
    const faults = await fetch(new URL('/_emulator/faults', url), { method: 'POST', body: JSON.stringify({ next: [{ status: 503 }, { crash: true }] }) });
    expect(faults.status).toBe(204);
    expect((await fetch(url, { method: 'POST', body: 'a' })).status).toBe(503);
    const crashed = await fetch(url, { method: 'POST', body: 'b' });
    expect([crashed.status, await crashed.json()]).toEqual([500, { failed: 'the handler broke' }]);
    expect(await (await fetch(url, { method: 'POST', body: 'c' })).text()).toBe('c');
    // The control paths are not requests of the API.
    expect(e.stats.requests).toBe(3);
  });

  it('serves its counters at /_emulator/stats, keeping the last arrivals only', async () => {
    const [, url] = await start();
    for (let i = 0; i < ARRIVALS_KEPT + 5; i++) await (await fetch(new URL(i % 2 ? 'odd' : 'even', url))).text();
    const stats = (await (await fetch(new URL('/_emulator/stats', url))).json()) as EmulatorStats & { byPath: Record<string, number> };
    expect(stats.requests).toBe(ARRIVALS_KEPT + 5);
    expect(stats.arrivals).toHaveLength(ARRIVALS_KEPT);
    expect(stats.byPath).toEqual({ '/api/even': 503, '/api/odd': 502 });
  });

  it('stamps arrivals and waits the latency on its clock option (a fake clock: no answer until it passes)', async () => {
    const clock = new FakeClock(1_795_000_000_000);
    const [e, url] = await start(new EchoEmulator(0, { latencyMs: 60_000 }, clock));
    let answered = false;
    const answer = fetch(url, { method: 'POST', body: 'late' }).then(async (r) => {
      answered = true;
      return r.text();
    });
    // Advance only once the latency is being waited on the clock (the request arrived, its body was read).
    while (clock.pending === 0) await new Promise((r) => setImmediate(r));
    expect(e.stats.arrivals).toEqual([1_795_000_000_000]);
    await clock.advance(59_999);
    await new Promise((r) => setImmediate(r));
    expect(answered).toBe(false);
    await clock.advance(1);
    expect(await answer).toBe('late');
  });
});

// Posts N usage callbacks with C in flight to a receiver URL; prints {ok, failed, ms, requestsPerSec}.
// Runs as its own process (node:http with a keep-alive agent: fetch would be the bottleneck).
import { Agent, request } from 'node:http';

const [url, nText = '10000', cText = '64', secret = ''] = process.argv.slice(2);
const N = Number(nText);
const C = Number(cText);
const u = new URL(url);
const agent = new Agent({ keepAlive: true, maxSockets: C });
let next = 0;
let ok = 0;
let failed = 0;
const body = (i) =>
  JSON.stringify({ source: 'iPlum', recordId: `load-${i}`, usage: 'text', type: 'external', from: '+14081231234', to: 'a@b.com', startTimeUTC: '2026-11-01T00:00:00Z', endTimeUTC: '2026-11-01T00:00:00Z', duration: '1', direction: 'in', iPlumCredits: 1, userId: 'a@b.com', content: `message ${i}` });
function post(data) {
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), 'x-secret': secret } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(data);
  });
}
const started = performance.now();
async function worker() {
  for (let i = next++; i < N; i = next++) {
    for (let attempt = 0; ; attempt++) {
      const status = await post(body(i));
      if (status === 200) {
        ok++;
        break;
      }
      if (status !== 503 || attempt > 50) {
        failed++;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
await Promise.all(Array.from({ length: C }, worker));
const ms = performance.now() - started;
agent.destroy();
process.stdout.write(JSON.stringify({ ok, failed, ms, requestsPerSec: Math.round(N / (ms / 1000)) }) + '\n');

import { execFileSync } from 'node:child_process';
import { request } from 'node:https';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { corePlugins, createLogger, createPipeline, PluginRegistry, MemoryStateStore } from '@plumline/core';
import { memorySink } from '@plumline/core/testing';
import { iplumCallbacksSource } from './callback-receiver.js';
import { tmpDir } from '@plumline/core/testing';

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

describe('iplum_callbacks over TLS', () => {
  it('serves HTTPS with the configured certificate and key', async () => {
    const { dir, cleanup } = await tmpDir();
    try {
      // A throwaway self-signed certificate for 127.0.0.1.
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
      const port = await freePort();
      const sink = memorySink({ type: 'mem' });
      const p = await createPipeline(
        { sources: { cb: { type: 'iplum_callbacks', listen: `127.0.0.1:${port}`, auth: { header: { name: 'x-secret', value: 'tls-secret-1' } }, tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } } }, sinks: { out: { type: 'mem', inputs: ['cb'] } } },
        { plugins: new PluginRegistry([...corePlugins, iplumCallbacksSource, sink.plugin]), logger: createLogger({ level: 'silent' }), stateStore: new MemoryStateStore() },
      );
      await p.start();
      const ca = await readFile(join(dir, 'cert.pem'));
      const body = JSON.stringify({ recordId: 'tls-1', usage: 'text', startTimeUTC: '2026-11-01T00:00:00Z', direction: 'in' });
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/iplum/callbacks', method: 'POST', ca, headers: { 'content-type': 'application/json', 'x-secret': 'tls-secret-1' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });
      expect(status).toBe(200);
      for (let i = 0; i < 100 && sink.record.events.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(sink.record.events.map((e) => e.id)).toEqual(['iplum:tls-1']);
      await p.stop();
    } finally {
      await cleanup();
    }
  });
});

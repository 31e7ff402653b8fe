import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { RegistryEmulator } from './registry-emulator.js';
import { EVENT_AVRO_SCHEMA } from './event-schemas.js';

const avro = (fields: unknown[]) => JSON.stringify({ type: 'record', name: 'T', namespace: 'x', fields });
let emu: RegistryEmulator;
let url: string;

async function call(method: string, path: string, body?: unknown, auth?: string) {
  const res = await fetch(url + path, { method, headers: { 'content-type': 'application/vnd.schemaregistry.v1+json', ...(auth ? { authorization: auth } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  emu = new RegistryEmulator();
  url = await emu.start();
});
afterAll(() => emu.stop());

describe('schema registry emulator (Confluent REST API)', () => {
  it('gives one id to one schema across subjects, versions per subject, and lookups by id, version and content', async () => {
    const s = avro([{ name: 'a', type: 'string' }]);
    const r1 = await call('POST', '/subjects/t1-value/versions', { schema: s });
    const r2 = await call('POST', '/subjects/t2-value/versions', { schema: s });
    const again = await call('POST', '/subjects/t1-value/versions', { schema: s });
    expect(r1).toMatchObject({ status: 200 });
    expect(r2.body.id).toBe(r1.body.id);
    expect(again.body.id).toBe(r1.body.id);
    expect(emu.versions('t1-value')).toEqual([1]);
    expect((await call('GET', `/schemas/ids/${String(r1.body.id)}`)).body).toEqual({ schema: JSON.stringify(JSON.parse(s)) });
    expect((await call('GET', '/subjects/t1-value/versions/latest')).body).toMatchObject({ subject: 't1-value', version: 1, id: r1.body.id });
    expect((await call('POST', '/subjects/t2-value', { schema: s })).body).toMatchObject({ version: 1, id: r1.body.id });
  });

  it('answers errors with Confluent status codes and error_code bodies', async () => {
    expect(await call('GET', '/schemas/ids/999')).toMatchObject({ status: 404, body: { error_code: 40403 } });
    expect(await call('GET', '/subjects/nope/versions/1')).toMatchObject({ status: 404, body: { error_code: 40401 } });
    await call('POST', '/subjects/e-value/versions', { schema: avro([{ name: 'a', type: 'string' }]) });
    expect(await call('GET', '/subjects/e-value/versions/7')).toMatchObject({ status: 404, body: { error_code: 40402 } });
    expect(await call('GET', '/config/e-value')).toMatchObject({ status: 404, body: { error_code: 40408 } });
    expect(await call('POST', '/subjects/e-value/versions', { schema: '{"type":"nonsense"}' })).toMatchObject({ status: 422, body: { error_code: 42201 } });
    expect(await call('PUT', '/config/e-value', { compatibility: 'SOMETIMES' })).toMatchObject({ status: 422, body: { error_code: 42203 } });
  });

  it('refuses a schema that breaks BACKWARD compatibility (409) and accepts a compatible evolution', async () => {
    await call('POST', '/subjects/c-value/versions', { schema: avro([{ name: 'a', type: 'string' }]) });
    expect(await call('POST', '/subjects/c-value/versions', { schema: avro([{ name: 'a', type: 'string' }, { name: 'b', type: 'int' }]) })).toMatchObject({ status: 409 });
    expect(await call('POST', '/subjects/c-value/versions', { schema: avro([{ name: 'a', type: 'string' }, { name: 'b', type: 'int', default: 0 }]) })).toMatchObject({ status: 200 });
    expect(emu.versions('c-value')).toEqual([1, 2]);
    await call('PUT', '/config/c-value', { compatibility: 'NONE' });
    expect(await call('POST', '/subjects/c-value/versions', { schema: avro([{ name: 'z', type: 'long' }]) })).toMatchObject({ status: 200 });
  });

  it('works with @kafkajs/confluent-schema-registry: register, encode, decode', async () => {
    const registry = new SchemaRegistry({ host: url });
    const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(EVENT_AVRO_SCHEMA) }, { subject: 'lib-value', compatibility: COMPATIBILITY.BACKWARD });
    expect((await call('GET', '/config/lib-value')).body).toEqual({ compatibilityLevel: 'BACKWARD' });
    const datum = { id: 'x', source: 's', kind: 'call', time: 't', endTime: null, direction: null, from: null, to: null, durationSec: 3.5, attributes: '{}', raw: null };
    const buf = await registry.encode(id, datum);
    expect(buf[0]).toBe(0);
    expect(buf.readUInt32BE(1)).toBe(id);
    // A fresh client resolves the id through the emulator.
    expect(await new SchemaRegistry({ host: url }).decode(buf)).toEqual(datum);
  });

  it('requires Basic credentials when configured (401 otherwise)', async () => {
    const locked = new RegistryEmulator({ auth: { username: 'u', password: 'p4ss' } });
    const lockedUrl = await locked.start();
    try {
      expect((await fetch(`${lockedUrl}/subjects`)).status).toBe(401);
      const ok = await fetch(`${lockedUrl}/subjects`, { headers: { authorization: `Basic ${Buffer.from('u:p4ss').toString('base64')}` } });
      expect(ok.status).toBe(200);
    } finally {
      await locked.stop();
    }
  });
});

import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { representation, sign, signedHeaders } from './iplum-signer.js';

/**
 * The signature computed independently of the implementation: the representation written here
 * from the vendor page's prose (username lower-cased), the HMAC by OpenSSL's command line (the
 * key passed as hex, so that any secret, even one with a NUL, gets through).
 */
function expected(method: string, accessKey: string, username: string, version: string, epoch: number, path: string, secret: string): string {
  const rep = `${method.toLowerCase()}\n${accessKey}\n${username.toLowerCase()}\n${version.toLowerCase()}\n${epoch}\n${path.toLowerCase()}`;
  const r = spawnSync('openssl', ['dgst', '-sha256', '-mac', 'HMAC', '-macopt', `hexkey:${Buffer.from(secret, 'utf8').toString('hex')}`, '-binary'], { input: Buffer.from(rep, 'utf8') });
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr?.toString() ?? r.error?.message}`);
  return r.stdout.toString('base64');
}

describe('iPlum request signing', () => {
  it('signs the documented representation (fixed vectors)', () => {
    const input = { method: 'POST', accessKey: 'ABCD1234ACCESSKEY', username: 'test@testuser.com', version: 'v1', epoch: 1696387075, path: '/usage/getusage' };
    expect(representation(input)).toBe('post\nABCD1234ACCESSKEY\ntest@testuser.com\nv1\n1696387075\n/usage/getusage');
    expect(sign(input, 'secret')).toBe(expected('POST', 'ABCD1234ACCESSKEY', 'test@testuser.com', 'v1', 1696387075, '/usage/getusage', 'secret'));
    // Also computed with: printf 'post\nABCD1234ACCESSKEY\ntest@testuser.com\nv1\n1696387075\n/usage/getusage' | openssl dgst -sha256 -hmac secret -binary | base64
    expect(sign(input, 'secret')).toBe('CZCH3awIft3jTL/lhQNN+Dv+ONYolbpAWD3tUUw0JGg=');
  });

  it('lower-cases method, username, version and path but not the access key; sends the username as signed', () => {
    const a = sign({ method: 'POST', accessKey: 'Key', username: 'Admin@X.com', version: 'V1', epoch: 1, path: '/Usage/GetUsage' }, 's');
    expect(a).toBe(expected('post', 'Key', 'admin@x.com', 'v1', 1, '/usage/getusage', 's'));
    expect(a).not.toBe(sign({ method: 'POST', accessKey: 'key', username: 'Admin@X.com', version: 'V1', epoch: 1, path: '/Usage/GetUsage' }, 's'));
    expect(a).toBe(sign({ method: 'POST', accessKey: 'Key', username: 'admin@x.com', version: 'V1', epoch: 1, path: '/Usage/GetUsage' }, 's'));
    expect(signedHeaders({ method: 'POST', accessKey: 'Key', username: 'Admin@X.com', version: 'v1', epoch: 1, path: '/x' }, 's')['x-iplumauth-username']).toBe('admin@x.com');
  });

  it('agrees with the independent computation for any input (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.emailAddress(), fc.integer({ min: 0, max: 2 ** 31 }), fc.constantFrom('/usage/getusage', '/usage/getcontent', '/callrecordings/getrecordings', '/callrecordings/getrecordingfile'), fc.string({ minLength: 1 }), (key, user, epoch, path, secret) => {
        expect(sign({ method: 'POST', accessKey: key, username: user, version: 'v1', epoch, path }, secret)).toBe(expected('POST', key, user, 'v1', epoch, path, secret));
      }),
      { numRuns: 40 },
    );
  });

  it('sends every documented header and never the secret', () => {
    const h = signedHeaders({ method: 'POST', accessKey: 'K', username: 'u@x.com', version: 'v1', epoch: 5, path: '/usage/getusage' }, 'TOPSECRET');
    expect(Object.keys(h).sort()).toEqual(['authorization', 'content-type', 'x-iplumauth-accesskey', 'x-iplumauth-epochdatetime', 'x-iplumauth-username', 'x-iplumauth-version']);
    expect(h.authorization).toMatch(/^iPlumAuth [A-Za-z0-9+/]+=*$/);
    expect(JSON.stringify(h)).not.toContain('TOPSECRET');
  });
});

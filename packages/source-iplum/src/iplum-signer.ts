import { createHmac } from 'node:crypto';

/** What an iPlum request signature covers. */
export interface SignInput {
  method: string;
  accessKey: string;
  username: string;
  version: string;
  /** UNIX seconds, exactly as sent in X-iPlumAuth-EpochDateTime. */
  epoch: number;
  /** Request path without host or query, e.g. `/usage/getusage`. */
  path: string;
}

/**
 * The string iPlum signs (docs/apis.md): method lower-cased, access key, username lower-cased,
 * version lower-cased, epoch, path lower-cased — joined by a single line feed. The vendor's
 * prose lower-cases the username, its C# sample does not: we lower-case it in the header too
 * (see signedHeaders), so a server following either reading computes the same string.
 */
export function representation(i: SignInput): string {
  return [i.method.toLowerCase(), i.accessKey, i.username.toLowerCase(), i.version.toLowerCase(), String(i.epoch), i.path.toLowerCase()].join('\n');
}

/** base64(HMAC-SHA256(secret key, representation)). */
export function sign(i: SignInput, secretKey: string): string {
  return createHmac('sha256', secretKey).update(representation(i)).digest('base64');
}

/** Every header of a signed request (the secret key itself is never sent). */
export function signedHeaders(i: SignInput, secretKey: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-iplumauth-accesskey': i.accessKey,
    // Login ids are e-mail addresses (case-insensitive); sent as signed.
    'x-iplumauth-username': i.username.toLowerCase(),
    'x-iplumauth-epochdatetime': String(i.epoch),
    'x-iplumauth-version': i.version,
    authorization: `iPlumAuth ${sign(i, secretKey)}`,
  };
}

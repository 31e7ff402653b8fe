import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServerNow } from '@plumline/core/util';
import avro from 'avsc';

/** Compatibility levels of the Confluent API; the emulator enforces NONE and BACKWARD (Avro only). */
export type Compatibility = 'NONE' | 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FORWARD_TRANSITIVE' | 'FULL' | 'FULL_TRANSITIVE';
const LEVELS = new Set<string>(['NONE', 'BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE']);
const SCHEMA_TYPES = new Set(['AVRO', 'JSON', 'PROTOBUF']);
const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
/** Largest request body accepted; a schema is a few kilobytes. */
const MAX_BODY_BYTES = 1 << 20;

/** Options of the schema registry emulator. */
export interface RegistryEmulatorOptions {
  host?: string;
  port?: number;
  /** When set, every request must carry these Basic credentials (401 otherwise). */
  auth?: { username: string; password: string };
  /** The global compatibility level (Confluent's default is BACKWARD). */
  compatibility?: Compatibility;
}

interface StoredSchema {
  id: number;
  schema: string;
  schemaType: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * An emulator of the Confluent Schema Registry REST API (the subset producers and
 * @kafkajs/confluent-schema-registry use): global schema ids shared across subjects, versions
 * per subject, lookups by id / version / content, per-subject compatibility configuration with
 * BACKWARD checks for Avro (via avsc resolvers), Confluent's error bodies (`error_code`,
 * `message`) and status codes (404 40401/40402/40403/40408, 409, 422 42201/42202/42203, 401).
 * Confluent's own registry is not on Maven Central, hence an emulator, like those of Plum and iPlum.
 */
export class RegistryEmulator {
  private server: Server | undefined;
  private readonly schemas: StoredSchema[] = [];
  private readonly subjects = new Map<string, number[]>();
  private readonly config = new Map<string, Compatibility>();
  private globalCompatibility: Compatibility;
  readonly stats = { requests: 0, registrations: 0 };

  constructor(private readonly opts: RegistryEmulatorOptions = {}) {
    this.globalCompatibility = opts.compatibility ?? 'BACKWARD';
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    // A port in use (EADDRINUSE) rejects the start instead of an unhandled 'error' event.
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => {
        this.server!.off('error', reject);
        resolve();
      });
    });
    return this.url;
  }

  get url(): string {
    const a = this.server!.address() as AddressInfo;
    return `http://${a.address}:${a.port}`;
  }

  /** The versions registered under a subject (empty when none), for tests. */
  versions(subject: string): number[] {
    return (this.subjects.get(subject) ?? []).map((_, i) => i + 1);
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    await closeServerNow(s);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.requests++;
    try {
      if (this.opts.auth && !this.authorized(req.headers.authorization)) throw new HttpError(401, 40101, 'Unauthorized');
      const body = req.method === 'POST' || req.method === 'PUT' ? await readJson(req) : undefined;
      const url = new URL(req.url ?? '/', 'http://registry');
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      send(res, 200, this.route(req.method ?? 'GET', parts, body));
    } catch (err) {
      if (err instanceof HttpError) send(res, err.status, { error_code: err.errorCode, message: err.message });
      else send(res, 500, { error_code: 50001, message: 'Error in the backend data store' });
    }
  }

  private authorized(header: string | undefined): boolean {
    const { username, password } = this.opts.auth!;
    return header === `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }

  private route(method: string, p: string[], body: unknown): unknown {
    const [a, b, c, d, e] = p;
    if (method === 'GET' && a === 'schemas' && b === 'ids' && c && p.length === 3) return this.byId(c);
    if (a === 'subjects') {
      if (method === 'GET' && p.length === 1) return [...this.subjects.keys()];
      if (!b) throw new HttpError(404, 404, 'HTTP 404 Not Found');
      if (method === 'POST' && p.length === 2) return this.lookup(b, body);
      if (c === 'versions') {
        if (method === 'POST' && p.length === 3) return this.register(b, body);
        if (method === 'GET' && p.length === 3) return this.versionsOf(b);
        if (method === 'GET' && d && p.length === 4) return this.version(b, d);
      }
    }
    if (a === 'config') {
      if (p.length === 1 && method === 'GET') return { compatibilityLevel: this.globalCompatibility };
      if (p.length === 1 && method === 'PUT') return { compatibility: (this.globalCompatibility = compatibilityOf(body)) };
      if (p.length === 2 && method === 'GET') {
        const level = this.config.get(b!);
        if (!level) throw new HttpError(404, 40408, `Subject '${b}' does not have subject-level compatibility configured`);
        return { compatibilityLevel: level };
      }
      if (p.length === 2 && method === 'PUT') {
        const level = compatibilityOf(body);
        this.config.set(b!, level);
        return { compatibility: level };
      }
    }
    if (method === 'POST' && a === 'compatibility' && b === 'subjects' && c && d === 'versions' && e && p.length === 5) {
      const candidate = parseBody(body);
      const version = this.version(c, e) as { schema: string; schemaType?: string };
      return { is_compatible: this.compatible(candidate.schema, candidate.schemaType, [version.schema], 'BACKWARD') };
    }
    if (['GET', 'POST', 'PUT', 'DELETE'].includes(method)) throw new HttpError(404, 404, 'HTTP 404 Not Found');
    throw new HttpError(405, 405, 'HTTP 405 Method Not Allowed');
  }

  private byId(raw: string): unknown {
    const s = this.schemas[Number(raw) - 1];
    if (!s || !/^\d+$/.test(raw)) throw new HttpError(404, 40403, 'Schema not found');
    return s.schemaType === 'AVRO' ? { schema: s.schema } : { schema: s.schema, schemaType: s.schemaType };
  }

  private versionsOf(subject: string): number[] {
    if (!this.subjects.has(subject)) throw new HttpError(404, 40401, `Subject '${subject}' not found.`);
    return this.versions(subject);
  }

  private version(subject: string, raw: string): unknown {
    const ids = this.subjects.get(subject);
    if (!ids) throw new HttpError(404, 40401, `Subject '${subject}' not found.`);
    const n = raw === 'latest' || raw === '-1' ? ids.length : /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(n)) throw new HttpError(422, 42202, 'The specified version is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"');
    const id = ids[n - 1];
    if (id === undefined) throw new HttpError(404, 40402, `Version ${raw} not found.`);
    return this.describe(subject, n, id);
  }

  private describe(subject: string, version: number, id: number): unknown {
    const s = this.schemas[id - 1]!;
    return { subject, version, id, schema: s.schema, ...(s.schemaType === 'AVRO' ? {} : { schemaType: s.schemaType }) };
  }

  /** POST /subjects/{subject}: is this schema registered under the subject? */
  private lookup(subject: string, body: unknown): unknown {
    const { schema, schemaType } = parseBody(body);
    const ids = this.subjects.get(subject);
    if (!ids) throw new HttpError(404, 40401, `Subject '${subject}' not found.`);
    const canonical = canonicalize(schema, schemaType);
    const i = ids.findIndex((id) => this.schemas[id - 1]!.schema === canonical && this.schemas[id - 1]!.schemaType === schemaType);
    if (i < 0) throw new HttpError(404, 40403, 'Schema not found');
    return this.describe(subject, i + 1, ids[i]!);
  }

  /** POST /subjects/{subject}/versions: the same schema gets the same id everywhere; a new one must be compatible. */
  private register(subject: string, body: unknown): { id: number } {
    const { schema, schemaType } = parseBody(body);
    const canonical = canonicalize(schema, schemaType);
    const ids = this.subjects.get(subject) ?? [];
    const already = ids.find((id) => this.schemas[id - 1]!.schema === canonical && this.schemas[id - 1]!.schemaType === schemaType);
    if (already !== undefined) return { id: already };
    const level = this.config.get(subject) ?? this.globalCompatibility;
    const previous = ids.map((id) => this.schemas[id - 1]!).filter((s) => s.schemaType === schemaType);
    const against = level.endsWith('_TRANSITIVE') ? previous : previous.slice(-1);
    if (against.length && !this.compatible(canonical, schemaType, against.map((s) => s.schema), level)) {
      throw new HttpError(409, 409, `Schema being registered is incompatible with an earlier schema for subject "${subject}" (${level})`);
    }
    let stored = this.schemas.find((s) => s.schema === canonical && s.schemaType === schemaType);
    if (!stored) this.schemas.push((stored = { id: this.schemas.length + 1, schema: canonical, schemaType }));
    this.subjects.set(subject, [...ids, stored.id]);
    this.stats.registrations++;
    return { id: stored.id };
  }

  /** Avro compatibility through avsc resolvers; other types are accepted (the emulator does not check them). */
  private compatible(schema: string, schemaType: string, previous: string[], level: Compatibility | 'BACKWARD'): boolean {
    if (level === 'NONE' || schemaType !== 'AVRO') return true;
    const next = avro.Type.forSchema(JSON.parse(schema) as avro.Schema);
    for (const old of previous) {
      const before = avro.Type.forSchema(JSON.parse(old) as avro.Schema);
      try {
        if (level.startsWith('BACKWARD') || level.startsWith('FULL')) next.createResolver(before);
        if (level.startsWith('FORWARD') || level.startsWith('FULL')) before.createResolver(next);
      } catch {
        return false;
      }
    }
    return true;
  }
}

function compatibilityOf(body: unknown): Compatibility {
  const level = (body as { compatibility?: unknown } | undefined)?.compatibility;
  if (typeof level !== 'string' || !LEVELS.has(level.toUpperCase())) throw new HttpError(422, 42203, 'Invalid compatibility level');
  return level.toUpperCase() as Compatibility;
}

function parseBody(body: unknown): { schema: string; schemaType: string } {
  const b = body as { schema?: unknown; schemaType?: unknown } | undefined;
  if (!b || typeof b.schema !== 'string') throw new HttpError(422, 42201, 'Either the input schema or one its references is invalid');
  const schemaType = b.schemaType === undefined || b.schemaType === null ? 'AVRO' : String(b.schemaType);
  if (!SCHEMA_TYPES.has(schemaType)) throw new HttpError(422, 42201, `Invalid schema type ${schemaType}`);
  return { schema: b.schema, schemaType };
}

/** Parses the schema (422 when it does not parse) and returns it re-serialized, so whitespace does not make two schemas differ. */
function canonicalize(schema: string, schemaType: string): string {
  try {
    if (schemaType === 'PROTOBUF') return schema;
    const parsed = JSON.parse(schema) as avro.Schema;
    if (schemaType === 'AVRO') avro.Type.forSchema(parsed);
    return JSON.stringify(parsed);
  } catch (err) {
    throw new HttpError(422, 42201, `Invalid schema: ${(err as Error).message}`);
  }
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) reject(new HttpError(413, 413, 'Request entity too large'));
      else chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(size ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined);
      } catch {
        reject(new HttpError(400, 400, 'Unrecognized JSON body'));
      }
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

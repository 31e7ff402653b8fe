import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { startCli, type CliProcess } from './test-support/run-cli.js';

/** Debian's chromium: CI installs it (.ci/run); on a machine without it the test says so and skips. */
const CHROMIUM = '/usr/bin/chromium';
const root = fileURLToPath(new URL('../../../', import.meta.url));
/** The screenshot a run leaves behind (a test artifact, not committed: .tmp/ is ignored). */
const ARTIFACTS = join(root, '.tmp', 'artifacts');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`the web view test needs Debian's chromium at ${CHROMIUM} in CI: apt-get install -y chromium (.ci/run does)`);
if (!haveChromium) console.warn(`plumline: skipping the web view browser test: no ${CHROMIUM} (apt-get install -y chromium; CI installs it)`);

/** A webhook receiver the test switches from 200 to 503 while the page is open. */
function receiver(): { server: Server; failing: { now: boolean } } {
  const failing = { now: false };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(failing.now ? 503 : 200).end());
  });
  return { server, failing };
}

describe.skipIf(!haveChromium)('the web view (/ui/ on plumline run --http), in a real browser', () => {
  let work: { dir: string; cleanup: () => Promise<void> };
  let hook: ReturnType<typeof receiver>;
  let cli: CliProcess;
  let base = '';
  let browser: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    work = await tmpDir('plumline-ui-');
    hook = receiver();
    await new Promise<void>((r) => hook.server.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(hook.server.address() as AddressInfo).port}/`;
    // A name of 300 bytes cannot be a file: the error events' file sink refuses them into the
    // dead letters (FILE_PATH_INVALID) while everything else flows.
    await writeFile(
      join(work.dir, 'p.yaml'),
      `id: ui-test
state: { type: directory, path: state }
sources:
  calls: { type: generate, seed: 5, rate: 100, duplicate_ratio: 0.1, batch_size: 10 }
transforms:
  unique: { type: dedupe, inputs: [calls] }
  by_kind: { type: route, inputs: [unique], routes: { errors: { kind: error } } }
  long_names: { type: map, inputs: [by_kind.errors], set: { attributes.name: "${'x'.repeat(300)}" } }
sinks:
  hook: { use: ${JSON.stringify(join(root, 'examples/webhook-sink/dist/index.js'))}, type: webhook, inputs: [unique], url: "${hookUrl}", max_retries: 100 }
  errors: { type: file, inputs: [long_names], path: "out/{{attributes.name}}.ndjson" }
  rejects: { type: file, inputs: [dead_letter], path: rejects/dead-letters.ndjson }
`,
    );
    cli = startCli(['run', 'p.yaml', '--http', '127.0.0.1:0'], work.dir);
    await cli.waitFor(/serving the web view on (http:\/\/[^ ]+)\/ui\//);
    base = /serving the web view on (http:\/\/[^ ]+)\/ui\//.exec(cli.stderr())![1]!;
    await mkdir(join(work.dir, 'profile'));
    browser = await chromium.launchPersistentContext(join(work.dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 1000 },
    });
    page = await browser.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    cli?.child.kill('SIGTERM');
    await cli?.exited;
    await new Promise((r) => hook?.server.close(r));
    await work?.cleanup();
  });

  it('shows the graph, rates that move, checkpoints, dead letters, an error when it happens, and a tap; it changes nothing', { timeout: 90_000 }, async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/ui/`);

    // The graph: a node per component (and the dead-letter stream a sink takes), left to right in graph order.
    const ids = ['calls', 'unique', 'by_kind', 'long_names', 'hook', 'errors', 'rejects', 'dead_letter'];
    for (const id of ids) await expect.poll(() => page.locator(`#graph svg g[data-component="${id}"]`).textContent()).toContain(id);
    const x = async (id: string) => (await page.locator(`#graph svg g[data-component="${id}"] rect`).boundingBox())!.x;
    expect(await x('calls')).toBeLessThan(await x('unique'));
    expect(await x('unique')).toBeLessThan(await x('by_kind'));
    expect(await x('by_kind')).toBeLessThan(await x('long_names'));
    expect(await x('long_names')).toBeLessThan(await x('errors'));
    expect(await page.locator('#graph svg path[data-edge="by_kind.errors->long_names"]').count()).toBe(1);
    // The table lists them in graph order too.
    expect(await page.locator('#components tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-component')))).toEqual(ids.slice(0, -1));

    // A rate that moves: the source's total grows between two looks, and its rate is above 0.
    const outTotal = async () => Number((await page.locator('#components tr[data-component="calls"] td').nth(6).textContent())!.replace(/k$/, '000'));
    const first = await outTotal();
    await expect.poll(outTotal, { timeout: 10_000 }).toBeGreaterThan(first);
    await expect.poll(async () => Number(await page.locator('#components tr[data-component="calls"] td').nth(4).textContent())).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#graph g[data-component="calls"] .rate').textContent()).toMatch(/^[1-9][\d.]*k?\/s out/);
    // What dedupe holds, and the source's committed checkpoint.
    await expect.poll(() => page.locator('#components tr[data-component="unique"]').textContent()).toMatch(/\d+ keys/);
    await expect.poll(() => page.locator('.source-card[data-source="calls"] pre.checkpoint').textContent(), { timeout: 10_000 }).toMatch(/checkpoint #\d+.*"next": \d+/s);
    // Dead letters, with their code and reason.
    await expect.poll(() => page.locator('#dead tr.dead-letter').first().textContent(), { timeout: 15_000 }).toContain('FILE_PATH_INVALID');

    // No error yet; then the webhook starts failing, and the error appears with its code and text.
    expect(await page.locator('#errors tr.error', { hasText: 'hook' }).count()).toBe(0);
    hook.failing.now = true;
    const row = page.locator('#errors tr.error', { hasText: 'WEBHOOK_UNAVAILABLE' });
    await expect.poll(() => row.count(), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(await row.first().textContent()).toContain('the webhook answered 503');
    await expect.poll(() => page.locator('#components tr[data-component="hook"] td').nth(8).textContent()).not.toBe('0');
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'web-view.png'), fullPage: true });
    hook.failing.now = false;

    // A tap of a component: its events, as they pass.
    await page.selectOption('#tap-ref', 'unique');
    await page.click('#tap-start');
    await expect.poll(() => page.locator('#tap-events li.tap-event').count(), { timeout: 15_000 }).toBeGreaterThanOrEqual(5);
    expect(JSON.parse((await page.locator('#tap-events li.tap-event').first().textContent())!)).toMatchObject({ source: 'calls' });

    // Read-only: the server refuses anything but GET, and the page has nothing that posts.
    for (const path of ['/status', '/ui/', '/tap/unique', '/readyz']) expect((await fetch(`${base}${path}`, { method: 'POST' })).status, path).toBe(405);
    expect(await page.locator('form[method="post" i], form[action]').count()).toBe(0);
    expect(errors).toEqual([]);
  });
});

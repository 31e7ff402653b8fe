import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cp, mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { tmpDir } from '@plumline/core/testing';
import { parseDuration } from '@plumline/core/util';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const PAGES = ['docs/deployment.md', 'docs/troubleshooting.md'];
const MANIFESTS = ['deploy/kubernetes/daemon.yaml', 'deploy/kubernetes/workers.yaml'];
/** kubernetes-validate (PyPI) in a venv of the clone's own: the test installs it, nothing by hand. */
const VENV = join(root, '.tmp', 'venv-k8s');
const KUBERNETES_VALIDATE = 'kubernetes-validate==1.37.0';
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');

type K8s = { kind: string; metadata: { name: string }; data?: Record<string, string>; spec?: { template?: { spec: PodSpec } } };
type Container = { ports?: { containerPort: number }[]; env?: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[]; envFrom?: { secretRef?: { name: string } }[]; livenessProbe?: { httpGet?: { path: string } }; readinessProbe?: { httpGet?: { path: string } }; resources?: { requests?: object; limits?: object }; args?: string[] };
type PodSpec = { terminationGracePeriodSeconds?: number; securityContext?: { runAsNonRoot?: boolean }; containers: Container[] };
const resources: K8s[] = MANIFESTS.flatMap((f) => parseAllDocuments(readFileSync(join(root, f), 'utf8')).map((d) => d.toJS() as K8s));
const workloads = resources.filter((r) => r.spec?.template);
const pipelines = resources.filter((r) => r.kind === 'ConfigMap').map((r) => r.data!['pipeline.yaml']!);

/** The commands of a page's sh blocks, one per entry, `\` continuations joined, comments dropped. */
function shBlocks(page: string): string[][] {
  const text = readFileSync(join(root, page), 'utf8');
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) =>
    m[1]!
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#')),
  );
}

/** Splits a command line into words as a shell would for these pages (double quotes, $PWD kept as text). */
const words = (line: string): string[] => [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);

function run(cmd: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd: o.cwd ?? root, env: o.env ?? process.env, encoding: 'utf8', timeout: o.timeout ?? 120_000 });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** kubernetes-validate, installed into .tmp/venv-k8s from PyPI on first use; undefined where Python has no venv (skipped locally, required in CI). */
function kubernetesValidate(): string | undefined {
  const bin = join(VENV, 'bin', 'kubernetes-validate');
  if (existsSync(bin)) return bin;
  const venv = run('python3', ['-m', 'venv', VENV]);
  if (venv.code !== 0) {
    if (process.env.CI) throw new Error(`CI needs python3 with venv for kubernetes-validate: ${venv.out}`);
    console.warn(`plumline: skipping the Kubernetes schema check: python3 -m venv failed (${venv.out.trim().split('\n')[0]})`);
    return undefined;
  }
  const pip = run(join(VENV, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', KUBERNETES_VALIDATE], { timeout: 300_000 });
  if (pip.code !== 0) throw new Error(`pip install ${KUBERNETES_VALIDATE} failed: ${pip.out}`);
  return bin;
}

/** What the Dockerfile says: its VOLUME, EXPOSE and the pipeline path its CMD runs. */
const image = {
  volume: /^VOLUME \["([^"]+)"\]/m.exec(dockerfile)![1]!,
  port: Number(/^EXPOSE (\d+)/m.exec(dockerfile)![1]),
  pipeline: /^CMD \["run", "([^"]+)"/m.exec(dockerfile)![1]!,
};

/**
 * A `docker` or `kubectl` command cannot run here (no engine, no cluster): it is checked against
 * the files it names instead. Any other docker or kubectl command fails the test: a page may give
 * only what this test can check.
 */
function checkContainerCommand(line: string, builtTags: Set<string>, validate: string | undefined): void {
  const w = words(line);
  const [tool, verb] = w;
  if (tool === 'docker' && verb === 'build') {
    builtTags.add(w[w.indexOf('-t') + 1]!);
    const lint = run(join(root, 'node_modules/.bin/dockerfilelint'), [join(root, w.at(-1) === '.' ? 'Dockerfile' : w.at(-1)!)]);
    expect(lint.code, `dockerfilelint: ${lint.out}`).toBe(0);
    return;
  }
  if (tool === 'docker' && verb === 'run') {
    const mounts = w.flatMap((x, i) => (w[i - 1] === '-v' ? [x.split(':')[1]!] : []));
    const published = w.flatMap((x, i) => (w[i - 1] === '-p' ? [Number(x.split(':').at(-1))] : []));
    expect(builtTags, line).toContain(w.at(-1));
    expect(mounts, `${line}: the state volume`).toContain(image.volume);
    expect(mounts, `${line}: the pipeline the image runs`).toContain(image.pipeline);
    expect(published, line).toEqual([image.port]);
    return;
  }
  if (tool === 'kubectl' && verb === 'apply') {
    const file = w[w.indexOf('-f') + 1]!;
    expect(MANIFESTS, line).toContain(file);
    if (!validate) return;
    const r = run(validate, ['--strict', join(root, file)]);
    expect(r.code, `kubernetes-validate --strict ${file}: ${r.out}`).toBe(0);
    expect(r.out).toMatch(/passed for resource/);
    return;
  }
  if (tool === 'kubectl' && verb === 'create' && w[2] === 'secret') {
    const name = w[4]!;
    const keys = w.filter((x) => x.startsWith('--from-literal=')).map((x) => x.slice('--from-literal='.length).split('=')[0]!);
    const containers = workloads.flatMap((r) => r.spec!.template!.spec.containers);
    const refs = containers.flatMap((c) => [...(c.envFrom ?? []).flatMap((e) => (e.secretRef ? [e.secretRef.name] : [])), ...(c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.name] : []))]);
    expect(new Set(refs), line).toEqual(new Set([name]));
    const setInEnv = new Set(containers.flatMap((c) => (c.env ?? []).filter((e) => !e.valueFrom).map((e) => e.name)));
    const needed = new Set([...pipelines.flatMap((p) => [...p.matchAll(/\$\{(\w+)/g)].map((m) => m[1]!)), ...containers.flatMap((c) => (c.env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.key] : [])))].filter((k) => !setInEnv.has(k)));
    expect(new Set(keys), `${line}: the keys the pipelines read`).toEqual(needed);
    return;
  }
  if (tool === 'kubectl' && verb === 'port-forward') {
    const [kind, name] = w[2]!.split('/');
    const target = workloads.find((r) => r.kind.toLowerCase() === kind && r.metadata.name === name);
    expect(target, line).toBeDefined();
    const remote = Number(w[3]!.split(':').at(-1));
    expect(target!.spec!.template!.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.containerPort)), line).toContain(remote);
    return;
  }
  throw new Error(`no check for "${line}": a page may give only commands this test runs or checks`);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('deployment files and the commands of deployment.md and troubleshooting.md', () => {
  let validate: string | undefined;
  beforeAll(() => {
    validate = kubernetesValidate();
  }, 300_000);

  it('the manifests: probes on /healthz and /readyz, a grace period above the pipeline\'s shutdown_timeout, resources, non-root; their pipelines are valid', async () => {
    const work = await tmpDir('plumline-manifests-');
    onTestFinished(() => work.cleanup());
    expect(workloads.map((r) => `${r.kind}/${r.metadata.name}`)).toEqual(['StatefulSet/plumline', 'Deployment/plumline-workers']);
    for (const [i, w] of workloads.entries()) {
      const pod = w.spec!.template!.spec;
      const shutdownMs = parseDuration(/shutdown_timeout: (\w+)/.exec(pipelines[i]!)?.[1] ?? '30s');
      expect(pod.terminationGracePeriodSeconds! * 1000, w.metadata.name).toBeGreaterThan(shutdownMs);
      expect(pod.securityContext?.runAsNonRoot).toBe(true);
      const c = pod.containers[0]!;
      expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(c.resources?.requests).toBeDefined();
      expect(c.resources?.limits).toBeDefined();
      expect(c.args).toContain(`0.0.0.0:${c.ports![0]!.containerPort}`);
    }
    const env = { ...process.env, PLUM_USER: 'u', PLUM_PASSWORD: 'p', IPLUM_ACCESS_KEY: 'a', IPLUM_SECRET_KEY: 's', IPLUM_USERNAME: 'n', KAFKA_BROKERS: 'kafka:9092', PLUMLINE_MASK_KEY: '0123456789abcdef0123456789abcdef' };
    for (const [i, p] of pipelines.entries()) {
      const file = join(work.dir, `pipeline-${i}.yaml`);
      writeFileSync(file, p);
      const r = spawnSync(process.execPath, [join(root, 'packages/cli/dist/bin.js'), 'validate', file], { env, encoding: 'utf8' });
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    }
  });

  it.each(PAGES)('%s: every command runs, or is checked against the files it names', { timeout: 300_000 }, async (page) => {
    const blocks = shBlocks(page);
    expect(blocks.length).toBeGreaterThan(0);
    const work = await tmpDir('plumline-docs-cmd-');
    const built = new Set<string>();
    try {
      await mkdir(join(work.dir, 'examples'));
      await cp(join(root, 'examples/generate-demo.yaml'), join(work.dir, 'examples/generate-demo.yaml'));
      for (const block of blocks) {
        const runnable: string[] = [];
        for (const line of block) {
          if (/^(docker|kubectl) /.test(line)) checkContainerCommand(line, built, validate);
          else runnable.push(line);
        }
        if (runnable.length === 0) continue;
        // The ops port of the examples, moved to a free one: other pipelines may hold 9464 here.
        const script = runnable.join('\n').replaceAll('9464', String(await freePort()));
        const r = run('bash', ['-euo', 'pipefail', '-c', script], { cwd: work.dir, env: { ...process.env, PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH}` } });
        expect(r.code, `${page}:\n${script}\n${r.out}`).toBe(0);
        if (script.includes('grep \'"msg":"done"\'')) expect(r.out).toContain('calls: in 0 out 0');
        if (script.includes('"msg":"pipeline started"')) expect(r.out).toContain('"next":1000');
      }
    } finally {
      await work.cleanup();
    }
  });
});

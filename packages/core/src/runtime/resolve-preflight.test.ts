import { describe, expect, it } from 'vitest';
import { ConfigErrors, corePlugins, createPipeline, defineOperator, mapEvents, PluginRegistry, z } from '../index.js';
import { resolvePipeline } from '../host.js';
import { MemoryStateStore } from '../testing/index.js';

/** An operator that, like mask, needs a key of 16 bytes from the environment variable its config names. */
const keyed = defineOperator({
  type: 'keyed',
  description: 'needs a key in the environment',
  configSchema: z.strictObject({ key_env: z.string().default('TEST_KEY'), n: z.int().default(1) }),
  preflight(config, ctx) {
    if (ctx.env === undefined) return [];
    const key = ctx.env[config.key_env];
    return key && key.length >= 16 ? [] : [{ code: 'CONFIG_TEST_KEY_MISSING', path: ['key_env'], message: `needs a key of 16 bytes in ${config.key_env}` }];
  },
  create: () => ({ apply: mapEvents((e) => e) }),
});
const registry = new PluginRegistry([...corePlugins, keyed]);

const yaml = (extra = '') => `sources:
  gen: { type: generate, count: 10${extra} }
transforms:
  k: { type: keyed, inputs: [gen] }
sinks:
  out: { type: blackhole, inputs: [k] }
`;

async function problems(text: string, options: { env?: Record<string, string>; noEnv?: boolean } = {}) {
  return resolvePipeline(text, { registry, file: 'p.yaml', env: options.env ?? {}, ...(options.noEnv ? { noEnv: true } : {}) }).then(
    () => [],
    (err: unknown) => {
      expect(err).toBeInstanceOf(ConfigErrors);
      return (err as ConfigErrors).errors.map((e) => [e.code, e.location?.line, e.location?.path, e.message]);
    },
  );
}

describe('preflight: what create() would refuse, checked when the pipeline is resolved (validate = run)', () => {
  it('reports a plugin preflight problem located at its key, with the environment the pipeline is resolved with', async () => {
    expect(await problems(yaml())).toEqual([['CONFIG_TEST_KEY_MISSING', 4, 'transforms.k.key_env', 'p.yaml:4:3: transforms.k.key_env: needs a key of 16 bytes in TEST_KEY']]);
    expect(await problems(yaml(), { env: { TEST_KEY: 'k' } })).toHaveLength(1);
    expect(await problems(yaml(), { env: { TEST_KEY: 'sixteen-bytes-ok' } })).toEqual([]);
    // createPipeline (what `run` does) refuses the same, before anything starts.
    await expect(createPipeline(yaml(), { plugins: registry, env: {}, stateStore: new MemoryStateStore() })).rejects.toMatchObject({ errors: [expect.objectContaining({ code: 'CONFIG_TEST_KEY_MISSING' })] });
  });

  it('noEnv: no variable is read; what depends on an unset one and the plugins\' environment checks go unchecked, the rest is checked', async () => {
    const withVars = `id: \${ID}
sources:
  gen: { type: generate, count: \${COUNT}, seed: \${SEED:-7} }
transforms:
  k: { type: keyed, inputs: [gen], n: \${N} }
sinks:
  out: { type: blackhole, inputs: [k] }
`;
    expect((await problems(withVars)).map((p) => p[0])).toEqual(['CONFIG_ENV_MISSING', 'CONFIG_ENV_MISSING', 'CONFIG_ENV_MISSING']);
    expect(await problems(withVars, { noEnv: true })).toEqual([]);
    const resolved = await resolvePipeline(withVars, { registry, file: 'p.yaml', noEnv: true, env: { COUNT: '5' } });
    expect(resolved.unchecked).toEqual({ variables: ['ID', 'COUNT', 'N'] });
    // Still checked: everything that does not depend on an unset variable.
    const typo = withVars.replace('n: ${N}', 'nn: ${N}').replace('count: ${COUNT}', 'count: -1');
    expect((await problems(typo, { noEnv: true })).map((p) => [p[0], p[2]])).toEqual([
      ['CONFIG_INVALID_VALUE', 'sources.gen.count'],
      ['CONFIG_UNKNOWN_KEY', 'transforms.k.nn'],
    ]);
  });
});

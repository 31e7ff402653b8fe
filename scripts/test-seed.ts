import { randomInt } from 'node:crypto';
import type { TestProject } from 'vitest/node';

/**
 * The seed of the fault schedules (when the crash and Kafka fault tests kill, pause or restart
 * what they test; packages/cli/src/test-support/seeded-random.ts): PLUMLINE_TEST_SEED, else one
 * chosen for this run. It is printed first, so that a run that failed can be given its schedules
 * again: `PLUMLINE_TEST_SEED=<seed> npx vitest run <file>`. The schedule is then the same; the
 * machine's timing, which the schedule meets, is not.
 */
export default function setup(project: TestProject): void {
  const given = process.env.PLUMLINE_TEST_SEED;
  if (given !== undefined && !/^\d+$/.test(given)) throw new Error(`PLUMLINE_TEST_SEED must be a whole number (it is "${given}"): the seed a test run printed`);
  const seed = given !== undefined ? Number(given) : randomInt(2 ** 31);
  console.log(`plumline: fault schedules from seed ${seed}${given !== undefined ? ' (PLUMLINE_TEST_SEED)' : ''}: PLUMLINE_TEST_SEED=${seed} draws them again`);
  project.provide('testSeed', seed);
}

declare module 'vitest' {
  export interface ProvidedContext {
    testSeed: number;
  }
}

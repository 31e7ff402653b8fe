import { join } from 'node:path';
import { DirectoryStateStore, type JsonValue } from '@plumline/core';

/** The checkpoints pipeline `pipelineId` stored in the default state directory under `dir` (read as the store reads them). */
export async function storedCheckpoints<T = Record<string, { seq: number; position: JsonValue }>>(dir: string, pipelineId: string, statePath = '.plumline/state'): Promise<T> {
  const store = new DirectoryStateStore(join(dir, statePath), { pipelineId });
  await store.open();
  try {
    return (await store.get('checkpoints')) as T;
  } finally {
    await store.close();
  }
}

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corePlugins, createLogger, createPipeline, MemoryStateStore, PluginRegistry } from '@plumline/core';
import { memorySink } from '@plumline/core/testing';
import { kafkaSink } from '@plumline/sink-kafka';
import { kafkaSource } from '@plumline/source-kafka';
import { KafkaStateStore, kafkaStateConfigSchema } from '@plumline/kafka-client';
import { kafkajs } from '@plumline/kafka-client/support';

const SCRIPT = fileURLToPath(new URL('../../../scripts/kafka.sh', import.meta.url));
/** This file's own broker, with authorization on; moved with the shared test broker (PLUMLINE_KAFKA_TEST_PORT). */
const PORT = 39149 + Number(process.env.PLUMLINE_KAFKA_TEST_PORT ?? 39092) - 39092;
const USER = { mechanism: 'plain' as const, username: 'plumline', password: 'plumline-secret' };
const broker = (command: string) => void execFileSync('bash', [SCRIPT, command], { env: { ...process.env, KAFKA_PORT: String(PORT), KAFKA_SECURED: '1', KAFKA_ACLS: '1', KAFKA_SASL_USER: USER.username, KAFKA_SASL_PASSWORD: USER.password }, stdio: 'ignore' });

const { AclResourceTypes: R, AclOperationTypes: O, AclPermissionTypes: P, ResourcePatternTypes: T } = kafkajs;
const logger = createLogger({ level: 'silent' });

/**
 * A state store whose principal lacks an ACL, against a real broker that enforces them
 * (StandardAuthorizer). The plaintext listener is a super user (it grants); the store connects as
 * `plumline` over SASL, with only what each step grants.
 */
describe('kafka state store without its ACLs (real broker with authorization)', () => {
  const superClient = new kafkajs.Kafka({ brokers: [`127.0.0.1:${PORT}`], logLevel: kafkajs.logLevel.NOTHING });
  const admin = superClient.admin();
  beforeAll(async () => {
    broker('up');
    await admin.connect();
  }, 180_000);
  afterAll(async () => {
    await admin.disconnect();
    broker('down');
  }, 120_000);

  const grant = async (resourceType: number, resourceName: string, operations: number[], resourcePatternType: number = T.LITERAL) => {
    await admin.createAcls({ acl: operations.map((operation) => ({ resourceType, resourceName, resourcePatternType, principal: `User:${USER.username}`, host: '*', operation, permissionType: P.ALLOW })) });
    // The broker's authorizer applies the ACL from its metadata log, just after the controller took it.
    await new Promise((r) => setTimeout(r, 1000));
  };
  const open = async (topic: string, pipeline: string, createTopic = false): Promise<unknown> => {
    const store = new KafkaStateStore(kafkaStateConfigSchema.parse({ brokers: [`127.0.0.1:${PORT + 2}`], sasl: USER, topic, create_topic: createTopic }), pipeline, logger);
    try {
      await store.open();
      await store.set('checkpoints', { n: 1 });
      return 'opened';
    } catch (err) {
      return err;
    } finally {
      await store.close();
    }
  };

  it('each missing ACL stops the open with STATE_NOT_AUTHORIZED naming it, never STATE_FENCED or a retried outage; granted, it opens', { timeout: 120_000 }, async () => {
    const topic = `acl-state-${Date.now().toString(36)}`;
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });

    // Not even Describe on the topic: Kafka does not list it.
    expect(await open(topic, 'p1')).toMatchObject({ code: 'STATE_TOPIC_MISSING', message: expect.stringContaining('may not Describe it') });
    // Asked to create it: Kafka refuses (it exists; the principal may not see it).
    expect(await open(topic, 'p1', true)).toMatchObject({ code: 'STATE_NOT_AUTHORIZED', retriable: false, message: expect.stringContaining(`on topic "${topic}"`) });

    // No ACL on the transactional id: kafkajs throws "Failed to find group coordinator" (the refusal only in its log).
    await grant(R.TOPIC, topic, [O.DESCRIBE, O.READ, O.WRITE]);
    const noTxId = await open(topic, 'p1');
    expect(noTxId).toMatchObject({ code: 'STATE_NOT_AUTHORIZED', retriable: false, message: expect.stringContaining('Write and Describe on TransactionalId "plumline-p1"') });
    expect(((noTxId as Error).cause as Error).name).toBe('KafkaJSGroupCoordinatorNotFound');

    // Describe only: the transaction's initialisation is refused (a protocol error kafkajs throws).
    await grant(R.TRANSACTIONAL_ID, 'plumline-p1', [O.DESCRIBE]);
    expect(await open(topic, 'p1')).toMatchObject({ code: 'STATE_NOT_AUTHORIZED', message: expect.stringContaining('TRANSACTIONAL_ID_AUTHORIZATION_FAILED') });

    // The transactional id granted, not the groups its reads of the topic use: the read fails at once.
    // A record already there makes the open read the topic (the claim's own commit marker may not
    // be written yet when the open asks where the topic ends).
    await grant(R.TRANSACTIONAL_ID, 'plumline-p1', [O.WRITE]);
    const producer = superClient.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'another-pipeline/checkpoints', value: '{}' }] });
    await producer.disconnect();
    expect(await open(topic, 'p1')).toMatchObject({ code: 'STATE_NOT_AUTHORIZED', message: expect.stringContaining('Read on consumer groups prefixed "plumline-state-load-"') });

    await grant(R.GROUP, 'plumline-state-load-', [O.READ], T.PREFIXED);
    expect(await open(topic, 'p1')).toBe('opened');
  });

  it("a kafka source without its group's ACL fails with KAFKA_CONSUMER_FAILED naming the grant, not with kafkajs's 'Failed to find group coordinator'", { timeout: 120_000 }, async () => {
    const topic = `acl-source-${Date.now().toString(36)}`;
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] });
    await grant(R.TOPIC, topic, [O.DESCRIBE, O.READ]);
    const out = memorySink({ type: 'out' });
    const pipeline = await createPipeline(
      { sources: { in: { type: 'kafka', brokers: [`127.0.0.1:${PORT + 2}`], sasl: USER, topics: [topic], group_id: 'acl-test-group', stop_at_end: true } }, sinks: { out: { type: 'out', inputs: ['in'] } } },
      { plugins: new PluginRegistry([...corePlugins, kafkaSource, out.plugin]), logger, stateStore: new MemoryStateStore() },
    );
    await pipeline.start();
    const err = await pipeline.done.then(() => 'ended', (e: unknown) => e);
    expect(err).toMatchObject({ message: expect.stringContaining('Read on consumer group "acl-test-group"') });
    expect(err).toMatchObject({ code: 'KAFKA_CONSUMER_FAILED', retriable: false });
  });

  it('a kafka sink that may see its topic but not write to it fails naming the grant, without retrying: at start (KAFKA_NOT_AUTHORIZED, not "cannot reach Kafka"), or, able to write elsewhere, at its batch', { timeout: 120_000 }, async () => {
    const topic = `acl-sink-${Date.now().toString(36)}`;
    const elsewhere = `acl-elsewhere-${Date.now().toString(36)}`;
    await admin.createTopics({ waitForLeaders: true, topics: [topic, elsewhere].map((t) => ({ topic: t, numPartitions: 1 })) });
    await grant(R.TOPIC, topic, [O.DESCRIBE]);
    const run = async (): Promise<unknown> => {
      const pipeline = await createPipeline(
        { sources: { gen: { type: 'generate', count: 3 } }, sinks: { out: { type: 'kafka', inputs: ['gen'], brokers: [`127.0.0.1:${PORT + 2}`], sasl: USER, topic } } },
        { plugins: new PluginRegistry([...corePlugins, kafkaSink]), logger, once: true, stateStore: new MemoryStateStore() },
      );
      return pipeline.start().then(() => pipeline.done).then(() => 'ended', (e: unknown) => e);
    };
    const refusedBatch = (err: unknown) => {
      const messages = [err, (err as Error).cause].map((e) => String((e as Error)?.message)).join(' / ');
      expect(messages).toContain('TOPIC_AUTHORIZATION_FAILED');
      expect(messages).toContain(`Describe and Write on topic "${topic}"`);
    };
    // Its idempotent producer's initialisation asks for Write on some topic or IdempotentWrite on
    // the cluster: refused at start unless an earlier test of this file granted a Write.
    const first = await run();
    if ((first as { code?: string }).code === 'KAFKA_NOT_AUTHORIZED') expect((first as Error).message).toContain(`IdempotentWrite on the cluster, or Write on the topics it writes ("${topic}")`);
    else refusedBatch(first);
    await grant(R.TOPIC, elsewhere, [O.DESCRIBE, O.WRITE]);
    refusedBatch(await run());
  });
});

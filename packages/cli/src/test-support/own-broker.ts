import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../../../scripts/kafka.sh', import.meta.url));

/**
 * A plain (no TLS or SASL) broker of a test file's own on `defaultPort`, for tests that stop, pause or
 * kill it, which other test files must not feel: `control` runs a scripts/kafka.sh command
 * (up, down, stop, start, pause, resume, kill) against it; `extraEnv` adds scripts/kafka.sh settings.
 */
export function ownBroker(defaultPort: number, extraEnv: (port: number) => Record<string, string> = () => ({})): { brokers: string[]; port: number; control: (command: string) => void } {
  // Moved with the shared test broker (PLUMLINE_KAFKA_TEST_PORT, scripts/kafka-global-setup.ts).
  const port = defaultPort + Number(process.env.PLUMLINE_KAFKA_TEST_PORT ?? 39092) - 39092;
  const env = { ...process.env, KAFKA_PORT: String(port), KAFKA_SECURED: '0', ...extraEnv(port) };
  return { brokers: [`127.0.0.1:${port}`], port, control: (command) => void execFileSync('bash', [SCRIPT, command], { env, stdio: 'ignore' }) };
}

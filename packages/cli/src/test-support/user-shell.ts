import { spawnSync } from 'node:child_process';

/**
 * Runs a command as from a user's shell (without the npm_* variables of the runner that started
 * the tests, npm quiet and colourless); returns its stdout, or throws with both outputs.
 */
export function sh(cmd: string, args: string[], cwd: string): string {
  const user = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...user, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', NO_COLOR: '1', FORCE_COLOR: '0', CI: 'true' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

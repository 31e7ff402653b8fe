/**
 * Whether process `pid` exists on this machine (signal 0 probes without signalling; EPERM means it
 * exists but is another user's). What a lock or owner file left by a killed process is told by.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

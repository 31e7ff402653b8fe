/** The part of a file handle {@link writeAll} needs (node:fs/promises' FileHandle has it). */
export interface VectorWriter {
  writev(buffers: Buffer[]): Promise<{ bytesWritten: number }>;
}

/**
 * Writes every buffer, in order, with as few system calls as the kernel allows: writev takes
 * the group's buffers as they are, so they are never first copied into one. A short write
 * (the kernel may stop early, and libuv caps one call at IOV_MAX buffers) resumes where it stopped.
 */
export async function writeAll(fh: VectorWriter, buffers: readonly Buffer[]): Promise<void> {
  let rest = buffers.filter((b) => b.length > 0);
  while (rest.length > 0) {
    let { bytesWritten } = await fh.writev(rest);
    if (bytesWritten <= 0) throw new Error(`writev wrote ${bytesWritten} bytes`);
    let i = 0;
    while (i < rest.length && bytesWritten >= rest[i]!.length) bytesWritten -= rest[i++]!.length;
    rest = rest.slice(i);
    if (bytesWritten > 0) rest[0] = rest[0]!.subarray(bytesWritten);
  }
}

import type { Server } from 'node:http';

/**
 * Closes an HTTP server now: keep-alive connections are cut rather than waited for (a client
 * that holds a pooled connection open would otherwise delay shutdown until it lets go).
 */
export async function closeServerNow(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

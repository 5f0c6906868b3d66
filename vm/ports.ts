// Free TCP/UDP ports on the loopback interface. The kernel picks the port
// (bind to 0), we close the socket and hand the number to QEMU. There is a
// small window in which another process could take it; callers that start
// QEMU retry with a fresh port when QEMU reports the port is in use.
import { createServer } from 'node:net';

export const LOOPBACK = '127.0.0.1';

export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no free TCP port on 127.0.0.1'))));
    });
  });
}

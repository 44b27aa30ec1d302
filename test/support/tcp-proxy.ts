// A TCP relay on 127.0.0.1 to a local port that a test can cut as a network partition does: nothing is reset or
// refused, bytes simply stop flowing both ways (open connections stall, new ones are accepted and never answered).
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Stop every byte, on open connections and new ones. */
  cut(): void;
  /** Destroy every connection and close the listener. */
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let partitioned = false;
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const stall = (s: Socket) => {
    s.unpipe();
    s.pause();
  };
  const server = createServer((client) => {
    track(client);
    if (partitioned) return stall(client);
    const upstream = connect(targetPort, targetHost);
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      partitioned = true;
      for (const s of sockets) stall(s);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

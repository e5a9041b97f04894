import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { PortProtocol } from './endpoint';

const BIND_TEST_TIMEOUT_MS = 2_000;

/**
 * Whether a process on the host could bind this port now: a socket is bound and
 * closed again at once. An address the host does not have counts as not free.
 * (A port published by Berth is not bound on the host, only DNATed; the caller
 * checks those separately.)
 */
export function canBindHostPort(hostPort: number, protocol: PortProtocol, hostIp = '0.0.0.0'): Promise<boolean> {
  return protocol === 'udp' ? canBindUdp(hostPort, hostIp) : canBindTcp(hostPort, hostIp);
}

function canBindTcp(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    const timer = setTimeout(() => {
      server.close(() => undefined);
      resolve(false);
    }, BIND_TEST_TIMEOUT_MS);
    server.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
    server.listen({ port, host, exclusive: true }, () => {
      clearTimeout(timer);
      server.close(() => resolve(true));
    });
  });
}

function canBindUdp(port: number, address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket({ type: 'udp4' });
    const close = () => {
      try {
        socket.close();
      } catch {
        // not bound, nothing to close
      }
    };
    const timer = setTimeout(() => {
      close();
      resolve(false);
    }, BIND_TEST_TIMEOUT_MS);
    socket.once('error', () => {
      clearTimeout(timer);
      close();
      resolve(false);
    });
    socket.bind({ port, address, exclusive: true }, () => {
      clearTimeout(timer);
      socket.close(() => resolve(true));
    });
  });
}

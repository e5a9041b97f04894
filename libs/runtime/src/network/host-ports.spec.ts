import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { canBindHostPort } from './host-ports';

describe('canBindHostPort', () => {
  it('says no for a TCP port a server listens on, on its address and on every address, and yes once it closes', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await expect(canBindHostPort(port, 'tcp', '127.0.0.1')).resolves.toBe(false);
    await expect(canBindHostPort(port, 'tcp')).resolves.toBe(false);
    await expect(canBindHostPort(port, 'udp', '127.0.0.1')).resolves.toBe(true);
    await new Promise((resolve) => server.close(resolve));
    await expect(canBindHostPort(port, 'tcp', '127.0.0.1')).resolves.toBe(true);
  });

  it('says no for a bound UDP port', async () => {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const { port } = socket.address();
    await expect(canBindHostPort(port, 'udp', '127.0.0.1')).resolves.toBe(false);
    await new Promise<void>((resolve) => socket.close(resolve));
  });

  it('says no for an address the host does not have', async () => {
    await expect(canBindHostPort(40000, 'tcp', '198.51.100.7')).resolves.toBe(false);
  });
});

import type { PublishedPort } from './container-spec';

/** A container that publishes ports on a host, as far as a clash is concerned. */
export interface PortPublisher {
  teamId: string;
  name: string;
  status: string;
  ports: PublishedPort[];
}

/** Two publications take the same host port: same protocol and port, and the same address or a wildcard on either side. */
export function portsClash(a: PublishedPort, b: PublishedPort): boolean {
  return (
    a.hostPort === b.hostPort &&
    a.protocol === b.protocol &&
    (!a.hostIp || !b.hostIp || a.hostIp === '0.0.0.0' || b.hostIp === '0.0.0.0' || a.hostIp === b.hostIp)
  );
}

/**
 * The first of `wanted` that a container among `others` already publishes (failed
 * containers hold no port), with that container; undefined when every port is free.
 */
export function findPortClash<P extends PortPublisher>(wanted: PublishedPort[], others: P[]): { port: PublishedPort; holder: P } | undefined {
  for (const port of wanted) {
    const holder = others.find((c) => c.status !== 'failed' && c.ports.some((q) => portsClash(q, port)));
    if (holder) return { port, holder };
  }
  return undefined;
}

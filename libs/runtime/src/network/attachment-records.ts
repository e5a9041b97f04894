import { AlreadyExistsError } from '@berth/domain';
import type { CniAttachment, CniAttachmentRecord, CniRunner } from './cni';
import { portMappingsOf, staticAddresses } from './conflist';
import { portsCollide, type PortMapping } from './endpoint';
import { canBindHostPort } from './host-ports';
import { CNI_NETWORK_PREFIX, netnsPath } from './network-names';

export const HOST_PORT_ANY = '0.0.0.0';

/** One interface of an attached container. */
export interface AttachedInterface {
  ifName: string;
  networkId: string;
  bridge: string;
  ipAddress: string;
  /** The subnet's prefix length, e.g. 24. */
  prefixLength: number;
  /** The bridge's address: the container's default route unless the network is internal. */
  gateway: string;
  internal: boolean;
  macAddress?: string;
  /** The host end of the veth (berthv…). */
  hostVeth?: string;
}

export interface AttachResult {
  /** For the OCI spec: `linux.namespaces` entry `{ type: 'network', path }`. */
  netnsPath: string;
  interfaces: AttachedInterface[];
  ports: PortMapping[];
}

/** What the CNI attachment records of this worker's containers say: interfaces, bridges in use, addresses and published ports. */
export class AttachmentRecords {
  constructor(private readonly cni: CniRunner) {}

  async describe(containerId: string): Promise<AttachResult> {
    const records = await this.cni.records(containerId);
    return {
      netnsPath: netnsPath(containerId),
      interfaces: records.map(describeInterface),
      ports: records.flatMap((r) => portMappingsOf(r.runtimeConfig)),
    };
  }

  /** AlreadyExists when another container publishes a colliding port, or (unless the container holds it already) the host has it bound. */
  async refuseTakenPorts(containerId: string, mappings: readonly PortMapping[]): Promise<void> {
    const all = await this.publishedPorts();
    const published = all.filter((p) => p.containerId !== containerId);
    const mine = all.filter((p) => p.containerId === containerId).map((p) => p.port);
    for (const port of mappings) {
      const where = `${port.hostIp ?? HOST_PORT_ANY}:${port.hostPort}/${port.protocol}`;
      const owner = published.find((p) => portsCollide(p.port, port));
      if (owner) throw new AlreadyExistsError(`host port ${where} is already published by another container`, 'PortInUse');
      const ours = mine.some((p) => portsCollide(p, port));
      if (!ours && !(await canBindHostPort(port.hostPort, port.protocol, port.hostIp ?? HOST_PORT_ANY))) {
        throw new AlreadyExistsError(`host port ${where} is in use on this host`, 'PortInUse');
      }
    }
  }

  /** The containers attached to the bridge. */
  async containersOn(bridge: string): Promise<string[]> {
    const users: string[] = [];
    for (const containerId of await this.cni.containers()) {
      if ((await this.cni.records(containerId)).some((r) => recordBridge(r) === bridge)) users.push(containerId);
    }
    return users;
  }

  /** Every host port the containers of this worker publish. */
  async publishedPorts(): Promise<{ containerId: string; port: PortMapping }[]> {
    const out: { containerId: string; port: PortMapping }[] = [];
    for (const containerId of await this.cni.containers()) {
      for (const record of await this.cni.records(containerId)) {
        for (const port of portMappingsOf(record.runtimeConfig)) out.push({ containerId, port });
      }
    }
    return out;
  }

  /** Addresses other containers of this worker hold (firewall rules keyed by them stay). */
  async addressesOfOthers(containerId: string): Promise<Set<string>> {
    const out = new Set<string>();
    for (const id of await this.cni.containers()) {
      if (id === containerId) continue;
      for (const record of await this.cni.records(id)) for (const ip of recordAddresses(record)) out.add(ip);
    }
    return out;
  }
}

export function sameAttachment(a: CniAttachment, b: CniAttachment): boolean {
  return (
    a.netnsPath === b.netnsPath &&
    JSON.stringify(a.config) === JSON.stringify(b.config) &&
    JSON.stringify(a.runtimeConfig ?? {}) === JSON.stringify(b.runtimeConfig ?? {})
  );
}

export function recordBridge(attachment: CniAttachment): string | undefined {
  const bridge = attachment.config.plugins.find((p) => p.type === 'bridge')?.bridge;
  return typeof bridge === 'string' ? bridge : undefined;
}

/** The container's addresses an attachment holds (from its result, else from its static config). */
export function recordAddresses(record: CniAttachmentRecord): string[] {
  const fromResult = (record.result?.ips ?? []).map((ip) => ip.address.split('/')[0]);
  return fromResult.length ? fromResult : staticAddresses(record.config).map((a) => a.address.split('/')[0]);
}

function describeInterface(record: CniAttachmentRecord): AttachedInterface {
  const configured = staticAddresses(record.config)[0];
  const sandbox = (record.result?.interfaces ?? []).find((i) => i.sandbox && i.name === record.ifName);
  const bridge = recordBridge(record) ?? '';
  const hostVeth = (record.result?.interfaces ?? []).find((i) => !i.sandbox && i.name !== bridge)?.name;
  return {
    ifName: record.ifName,
    networkId: record.config.name.startsWith(CNI_NETWORK_PREFIX) ? record.config.name.slice(CNI_NETWORK_PREFIX.length) : record.config.name,
    bridge,
    ipAddress: recordAddresses(record)[0] ?? '',
    prefixLength: Number(configured?.address.split('/')[1]),
    gateway: configured?.gateway ?? '',
    internal: record.config.plugins.find((p) => p.type === 'bridge')?.isDefaultGateway !== true,
    ...(sandbox?.mac ? { macAddress: sandbox.mac } : {}),
    ...(hostVeth ? { hostVeth } : {}),
  };
}

import { execFileRunner, type ProcessRunner } from '../shared/process-runner';
import { AttachmentRecords } from './attachment-records';
import { CniRunner } from './cni';
import { cniExecInNetns, type CniExec } from './cni-exec';
import { HostLinks } from './host-links';
import { Iptables } from './iptables';
import { NamespaceMarks } from './namespace-marks';
import { NetworkNamespaces, runnerInNetns } from './netns';
import { NetworkRegistry } from './network-registry';
import { Overlays } from './overlay';

export interface HostNetworksOptions {
  /** Attachment records and the host's network records live here (keep it across restarts). */
  stateDir: string;
  /** Where the CNI plugins are (default /usr/lib/cni, then /opt/cni/bin). */
  pluginDirs?: string[];
  /** Each plugin call is killed after this long (default 20 s). */
  pluginTimeoutMs?: number;
  /** Runs ip, sysctl and iptables; tests may swap it. */
  runner?: ProcessRunner;
  /** Runs the CNI plugins; tests may swap it. */
  cniExec?: CniExec;
  /**
   * The network namespace (a path such as /var/run/netns/x) that plays the host:
   * bridges, host veths, routes and iptables rules are made there instead of in the
   * worker's own namespace. For several workers on one machine, each its own "host".
   * (The probe of whether a host port is free still binds in the worker's namespace.)
   */
  hostNetns?: string;
}

/** What HostNetworks and its helpers work with on one host: the plugins, namespaces, links, rules and records. */
export interface HostNetworkParts {
  readonly cni: CniRunner;
  readonly namespaces: NetworkNamespaces;
  readonly marks: NamespaceMarks;
  readonly links: HostLinks;
  readonly iptables: Iptables;
  readonly registry: NetworkRegistry;
  readonly overlays: Overlays;
  readonly attachments: AttachmentRecords;
}

/** The parts, each speaking to the host namespace the options name (or the worker's own). */
export function hostNetworkParts(options: HostNetworksOptions): HostNetworkParts {
  const { stateDir, pluginDirs, pluginTimeoutMs: timeoutMs, hostNetns } = options;
  const base = options.runner ?? execFileRunner;
  const runner = hostNetns ? runnerInNetns(base, hostNetns) : base;
  const exec = options.cniExec ?? (hostNetns ? cniExecInNetns(hostNetns) : undefined);
  const cni = new CniRunner({ stateDir, pluginDirs, timeoutMs, exec });
  const attachments = new AttachmentRecords(cni);
  // `ip netns add` makes a new namespace whichever one it runs in; `ip -n` and `ip netns exec` name theirs.
  const namespaces = new NetworkNamespaces({ runner: base });
  const marks = new NamespaceMarks(stateDir);
  const links = new HostLinks({ runner });
  const iptables = new Iptables({ runner });
  const registry = new NetworkRegistry(stateDir);
  const overlays = new Overlays({ runner, links });
  return { cni, namespaces, marks, links, iptables, registry, overlays, attachments };
}

import type { Iptables, SavedTable } from './iptables';
import { BRIDGE_PREFIX, checkedBridgeName } from './network-names';

/** Berth's own filter-table chains. */
export const FORWARD_CHAIN = 'BERTH-FORWARD';
export const ISOLATION_CHAIN = 'BERTH-ISOLATION';
export const INPUT_CHAIN = 'BERTH-INPUT';
export const BERTH_CHAINS = [FORWARD_CHAIN, ISOLATION_CHAIN, INPUT_CHAIN] as const;
/** The IANA VXLAN port, as the kernel and Docker's overlay use it (overlay.ts). */
export const VXLAN_PORT = 4789;

export interface IsolatedBridge {
  bridge: string;
  internal: boolean;
}

export interface IsolationRule {
  chain: string;
  args: string[];
}

const ANY_BRIDGE = `${BRIDGE_PREFIX}+`;
const NEW_ONLY = ['-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED'];
/** VXLAN's port: hosts trust what arrives there from each other. */
const VXLAN = ['-p', 'udp', '-m', 'udp', '--dport', String(VXLAN_PORT)];
/** A new connection that was not DNATed to a published port. */
const UNPUBLISHED = ['-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED,DNAT'];

/**
 * Rules every host with a Berth bridge has, in this order (Docker's
 * DOCKER-ISOLATION-STAGE-2, in Berth's names):
 *
 * - BERTH-ISOLATION: nothing a container sends reaches a host's VXLAN port (it would
 *   leave masqueraded as its host, whom the other hosts trust, and could put frames
 *   on any team's network); connections to published ports (DNAT) pass; anything
 *   else headed for a Berth bridge is dropped. Other traffic out of the host passes.
 * - BERTH-INPUT: portmap sets route_localnet on bridges (so 127.0.0.1 can be DNATed
 *   into a container), which also lets a container send to the host's 127.0.0.1
 *   services through its gateway (CVE-2020-8558): new connections from a Berth
 *   bridge to 127.0.0.0/8 are dropped, as kube-proxy does; and nothing from a
 *   bridge reaches this host's own VXLAN port.
 */
export const BASE_RULES: readonly IsolationRule[] = [
  { chain: ISOLATION_CHAIN, args: [...VXLAN, '-j', 'DROP'] },
  { chain: ISOLATION_CHAIN, args: ['-m', 'conntrack', '--ctstate', 'DNAT', '-j', 'RETURN'] },
  { chain: ISOLATION_CHAIN, args: ['-o', ANY_BRIDGE, '-j', 'DROP'] },
  { chain: INPUT_CHAIN, args: ['-d', '127.0.0.0/8', '-i', ANY_BRIDGE, ...NEW_ONLY, '-j', 'DROP'] },
  { chain: INPUT_CHAIN, args: ['-i', ANY_BRIDGE, ...VXLAN, '-j', 'DROP'] },
];

/**
 * One bridge's rules (Docker's DOCKER-ISOLATION-STAGE-1). BERTH-FORWARD, jumped to
 * first from FORWARD: traffic leaving the bridge for another interface goes
 * through BERTH-ISOLATION; a connection routed into the bridge from any other
 * interface passes only to a published port (DNAT) or as part of a connection a
 * container started, so a neighbour that routes the subnet through the host
 * reaches nothing unpublished even with FORWARD's policy ACCEPT (as Docker 28
 * does); an internal bridge forwards nothing to or from any other interface, and
 * BERTH-INPUT drops every connection its containers start towards the host (the
 * host may still connect to them). Traffic between members of the network, local
 * or through the bridge's VXLAN link, stays within the bridge and is not touched.
 *
 * Each bridge's rules are added and removed on their own (`-C`, `-A`, `-D`), never by
 * rewriting the chains, so workers sharing a host never drop each other's rules.
 */
export function bridgeRules({ bridge, internal }: IsolatedBridge): IsolationRule[] {
  const name = checkedBridgeName(bridge);
  const rules: IsolationRule[] = [{ chain: FORWARD_CHAIN, args: ['-i', name, '!', '-o', name, '-j', ISOLATION_CHAIN] }];
  if (!internal) {
    // Whatever the FORWARD policy, a connection routed in from elsewhere reaches only published ports.
    rules.push({ chain: FORWARD_CHAIN, args: ['!', '-i', name, '-o', name, ...UNPUBLISHED, '-j', 'DROP'] });
  }
  if (internal) {
    rules.push(
      { chain: FORWARD_CHAIN, args: ['-i', name, '!', '-o', name, '-j', 'DROP'] },
      { chain: FORWARD_CHAIN, args: ['!', '-i', name, '-o', name, '-j', 'DROP'] },
      { chain: INPUT_CHAIN, args: ['-i', name, ...NEW_ONLY, '-j', 'DROP'] },
    );
  }
  return rules;
}

/**
 * Adds whatever of the bridge's rules (and the shared ones) is missing, and keeps
 * Berth's jumps first. One `iptables-save` answers for every rule already there (the
 * rules are spelled as iptables-save prints them); only a rule not seen in it costs
 * a `-C`, and a missing one its `-I`/`-A`.
 */
export async function ensureBridgeIsolation(iptables: Iptables, bridge: IsolatedBridge): Promise<void> {
  const saved = await iptables.save('filter');
  for (const chain of BERTH_CHAINS) if (!saved.chains.includes(chain)) await iptables.succeeds(['-t', 'filter', '-N', chain]);
  for (const [index, rule] of BASE_RULES.entries()) {
    if (await has(iptables, rule, saved)) continue;
    // The RETURN must come before the DROP of its chain.
    const position = BASE_RULES.slice(0, index).filter((r) => r.chain === rule.chain).length + 1;
    await iptables.run(['-t', 'filter', '-I', rule.chain, String(position), ...rule.args]);
  }
  for (const rule of bridgeRules(bridge)) if (!(await has(iptables, rule, saved))) await iptables.run(['-t', 'filter', '-A', rule.chain, ...rule.args]);
  // Only Berth's own chains changed since the snapshot: FORWARD and INPUT are as it shows them.
  await ensureIsolationFirst(iptables, saved);
}

/** Removes the bridge's rules, of either kind (so a bridge remade as the other kind keeps none); gone ones are fine. */
export async function removeBridgeIsolation(iptables: Iptables, bridge: string): Promise<void> {
  const either = [...bridgeRules({ bridge, internal: true }), ...bridgeRules({ bridge, internal: false })];
  await removeRules(iptables, [...new Map(either.map((r) => [`${r.chain} ${r.args.join(' ')}`, r])).values()]);
}

/** Removes Berth's chains once no bridge has rules in them (of this worker or any other on the host). */
export async function removeIsolationIfUnused(iptables: Iptables): Promise<boolean> {
  const saved = await iptables.save('filter');
  if (saved.rules.some((r) => r.chain === FORWARD_CHAIN)) return false;
  for (const chain of BERTH_CHAINS) await iptables.removeChain('filter', chain);
  return true;
}

/** The firewall plugin inserts its CNI-FORWARD jump first in FORWARD; Berth's must come before it. */
export async function ensureIsolationFirst(iptables: Iptables, saved?: SavedTable): Promise<void> {
  const snapshot = saved ?? (await iptables.save('filter'));
  await iptables.ensureFirstJump('filter', 'FORWARD', FORWARD_CHAIN, snapshot);
  await iptables.ensureFirstJump('filter', 'INPUT', INPUT_CHAIN, snapshot);
}

async function has(iptables: Iptables, rule: IsolationRule, saved?: SavedTable): Promise<boolean> {
  const spelled = rule.args.join(' ');
  if (saved?.rules.some((r) => r.chain === rule.chain && r.args.join(' ') === spelled)) return true;
  return iptables.succeeds(['-t', 'filter', '-C', rule.chain, ...rule.args]);
}

async function removeRules(iptables: Iptables, rules: readonly IsolationRule[]): Promise<void> {
  for (const rule of rules) {
    // A rule added twice (by hand, or by two racing workers) goes entirely; bounded all the same.
    for (let round = 0; round < 10 && (await iptables.succeeds(['-t', 'filter', '-D', rule.chain, ...rule.args])); round++);
  }
}

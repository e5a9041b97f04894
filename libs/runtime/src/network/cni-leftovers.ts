import { jumpTarget, ruleComment, type Iptables, type SavedRule, type SavedTable } from './iptables';
import { CNI_NETWORK_PREFIX } from './network-names';

/**
 * What the standard plugins leave in iptables when their DEL never ran (a crash,
 * a lost state dir) or could not clean up (the bridge plugin skips its masquerade
 * chain when the namespace is already gone):
 *
 * - bridge (ipMasq): `POSTROUTING -s <ip> -m comment "name: \"<net>\" id: \"<ctr>\"" -j CNI-<hash>`
 * - portmap: `CNI-HOSTPORT-DNAT … -m comment "dnat name: \"<net>\" id: \"<ctr>\"" -j CNI-DN-<hash>`
 * - firewall: `CNI-FORWARD -s <ip>/32 -j ACCEPT` and `-d <ip>/32 … RELATED,ESTABLISHED -j ACCEPT` (no comment)
 *
 * Only networks named `berth-…` are considered.
 */
export interface LeftoverFilter {
  /** Whether rules a plugin made for this container on this Berth network should go. */
  staleContainer(containerId: string, network: string): boolean;
  /** Whether firewall-plugin rules for this address should go. */
  staleAddress(ip: string): boolean;
}

export interface LeftoverPlan {
  rules: SavedRule[];
  chains: { table: string; chain: string }[];
}

const OWNER_COMMENT = /^(?:dnat )?name: "([^"]*)" id: "([^"]*)"$/;
const FIREWALL_RULE = /^(?:-s|-d) (\d+\.\d+\.\d+\.\d+)\/32 (?:-m conntrack --ctstate RELATED,ESTABLISHED )?-j ACCEPT$/;

/** Which rules to delete, then which per-container CNI chains to flush and delete. Pure. */
export function planLeftoverSweep(tables: readonly SavedTable[], filter: LeftoverFilter): LeftoverPlan {
  const rules: SavedRule[] = [];
  const chains: { table: string; chain: string }[] = [];
  for (const table of tables) {
    const doomed = new Set<SavedRule>();
    const candidates = new Set<string>();
    for (const rule of table.rules) {
      const owner = OWNER_COMMENT.exec(ruleComment(rule.args) ?? '');
      if (owner && owner[1].startsWith(CNI_NETWORK_PREFIX) && filter.staleContainer(owner[2], owner[1])) {
        // Rules inside a per-container chain go with the chain; delete only the jumps into it.
        if (!isPerContainerChain(rule.chain)) doomed.add(rule);
        const target = jumpTarget(rule.args);
        if (target && isPerContainerChain(target) && table.chains.includes(target)) candidates.add(target);
        continue;
      }
      const firewall = rule.chain === 'CNI-FORWARD' ? FIREWALL_RULE.exec(rule.args.join(' ')) : null;
      if (firewall && filter.staleAddress(firewall[1])) doomed.add(rule);
    }
    for (const chain of candidates) {
      const stillUsed = table.rules.some((r) => r.chain !== chain && !doomed.has(r) && jumpTarget(r.args) === chain);
      if (!stillUsed) chains.push({ table: table.name, chain });
    }
    rules.push(...table.rules.filter((r) => doomed.has(r)));
  }
  return { rules, chains };
}

/** CNI-<hash> (bridge masquerade) and CNI-DN-<hash> (portmap) chains: one per container and network. */
export function isPerContainerChain(chain: string): boolean {
  return /^CNI-(?:DN-)?[0-9a-f]{16,}$/.test(chain);
}

export async function sweepLeftovers(iptables: Iptables, filter: LeftoverFilter, tableNames = ['nat', 'filter']): Promise<LeftoverPlan> {
  const tables = await Promise.all(tableNames.map((name) => iptables.save(name)));
  const plan = planLeftoverSweep(tables, filter);
  for (const rule of plan.rules) await iptables.succeeds(['-t', rule.table, '-D', rule.chain, ...rule.args]);
  for (const { table, chain } of plan.chains) {
    await iptables.succeeds(['-t', table, '-F', chain]);
    await iptables.succeeds(['-t', table, '-X', chain]);
  }
  return plan;
}

/**
 * The plugins' shared chains (CNI-FORWARD/CNI-ADMIN of firewall, CNI-HOSTPORT-* of
 * portmap) are never removed by a DEL. Once nothing uses them — no container rule
 * from Berth or from any other CNI runtime on the host — they go too, so a host
 * with no containers is left as it was. The next ADD recreates them.
 */
export function unusedSharedChains(tables: readonly SavedTable[]): { table: string; chain: string }[] {
  const out: { table: string; chain: string }[] = [];
  const filter = tables.find((t) => t.name === 'filter');
  if (filter?.chains.includes('CNI-FORWARD')) {
    const forward = filter.rules.filter((r) => r.chain === 'CNI-FORWARD');
    const admin = filter.rules.filter((r) => r.chain === 'CNI-ADMIN');
    if (admin.length === 0 && forward.every((r) => jumpTarget(r.args) === 'CNI-ADMIN')) {
      out.push({ table: 'filter', chain: 'CNI-FORWARD' });
      if (filter.chains.includes('CNI-ADMIN')) out.push({ table: 'filter', chain: 'CNI-ADMIN' });
    }
  }
  const nat = tables.find((t) => t.name === 'nat');
  if (nat?.chains.includes('CNI-HOSTPORT-DNAT') && !nat.rules.some((r) => r.chain === 'CNI-HOSTPORT-DNAT')) {
    out.push({ table: 'nat', chain: 'CNI-HOSTPORT-DNAT' });
    const markUsed = nat.rules.some((r) => r.chain !== 'CNI-HOSTPORT-SETMARK' && jumpTarget(r.args) === 'CNI-HOSTPORT-SETMARK');
    if (!markUsed) {
      for (const chain of ['CNI-HOSTPORT-SETMARK', 'CNI-HOSTPORT-MASQ']) if (nat.chains.includes(chain)) out.push({ table: 'nat', chain });
    }
  }
  return out;
}

export async function pruneSharedChains(iptables: Iptables): Promise<string[]> {
  const tables = await Promise.all(['filter', 'nat'].map((name) => iptables.save(name)));
  const unused = unusedSharedChains(tables);
  for (const { table, chain } of unused) await iptables.removeChain(table, chain);
  return unused.map(({ table, chain }) => `${table}/${chain}`);
}

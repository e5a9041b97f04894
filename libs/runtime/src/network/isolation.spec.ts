import { InvalidArgumentError } from '@berth/domain';
import type { ProcessRunner } from '../shared/process-runner';
import { Iptables } from './iptables';
import { bridgeRules, ensureBridgeIsolation, removeBridgeIsolation, removeIsolationIfUnused } from './isolation';

/** iptables as a set of rules per chain: `-C`, `-A`, `-I`, `-D`, `-N`, `-F`, `-X` and iptables-save, nothing else. */
function fakeIptables(initial: Record<string, string[]> = {}) {
  const chains = new Map<string, string[]>(Object.entries({ INPUT: [], FORWARD: [], ...initial }));
  const commands: string[] = [];
  const runner: ProcessRunner = {
    async run(file, args) {
      const ok = (stdout = '') => ({ exitCode: 0, stdout, stderr: '' });
      const fail = { exitCode: 1, stdout: '', stderr: 'iptables: Bad rule (does a matching rule exist in that chain?).\n' };
      if (file.endsWith('iptables-save')) {
        const lines = ['*filter', ...[...chains.keys()].map((c) => `:${c} - [0:0]`)];
        for (const [chain, rules] of chains) for (const rule of rules) lines.push(`-A ${chain} ${rule}`);
        return ok([...lines, 'COMMIT', ''].join('\n'));
      }
      const [, , , , op, chain, ...rest] = args; // -w 10 -t filter <op> <chain> …
      commands.push([op, chain, ...rest].join(' '));
      const rules = chains.get(chain);
      if (op === '-N') return rules ? fail : (chains.set(chain, []), ok());
      if (!rules) return fail;
      if (op === '-C') return rules.includes(rest.join(' ')) ? ok() : fail;
      if (op === '-A') return (rules.push(rest.join(' ')), ok());
      if (op === '-I') return (rules.splice(Number(rest[0]) - 1, 0, rest.slice(1).join(' ')), ok());
      if (op === '-D') {
        const index = rules.indexOf(rest.join(' '));
        return index < 0 ? fail : (rules.splice(index, 1), ok());
      }
      if (op === '-F') return (rules.splice(0), ok());
      if (op === '-X') return (chains.delete(chain), ok());
      throw new Error(`unexpected iptables ${args.join(' ')}`);
    },
  };
  return { iptables: new Iptables({ runner }), chains, commands };
}

describe('bridgeRules', () => {
  it('sends traffic leaving a bridge through the isolation chain, and lets in from elsewhere only published ports and replies', () => {
    expect(bridgeRules({ bridge: 'berth-a', internal: false }).map((r) => `${r.chain} ${r.args.join(' ')}`)).toEqual([
      'BERTH-FORWARD -i berth-a ! -o berth-a -j BERTH-ISOLATION',
      'BERTH-FORWARD ! -i berth-a -o berth-a -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    ]);
  });

  it('fences an internal bridge off from every other interface and from the host', () => {
    expect(bridgeRules({ bridge: 'berth-i', internal: true }).map((r) => `${r.chain} ${r.args.join(' ')}`)).toEqual([
      'BERTH-FORWARD -i berth-i ! -o berth-i -j BERTH-ISOLATION',
      'BERTH-FORWARD -i berth-i ! -o berth-i -j DROP',
      'BERTH-FORWARD ! -i berth-i -o berth-i -j DROP',
      'BERTH-INPUT -i berth-i -m conntrack ! --ctstate RELATED,ESTABLISHED -j DROP',
    ]);
  });

  it('refuses a name that is not a Berth bridge', () => {
    expect(() => bridgeRules({ bridge: 'eth0', internal: false })).toThrow(InvalidArgumentError);
  });
});

describe('isolation chains', () => {
  it('creates the chains, the shared rules in order, the bridge rules, and jumps first in FORWARD and INPUT', async () => {
    const { iptables, chains } = fakeIptables({ FORWARD: ['-m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD'] });
    await ensureBridgeIsolation(iptables, { bridge: 'berth-i', internal: true });
    expect(chains.get('BERTH-ISOLATION')).toEqual(['-p udp -m udp --dport 4789 -j DROP', '-m conntrack --ctstate DNAT -j RETURN', '-o berth-+ -j DROP']);
    expect(chains.get('BERTH-INPUT')).toEqual([
      '-d 127.0.0.0/8 -i berth-+ -m conntrack ! --ctstate RELATED,ESTABLISHED -j DROP',
      '-i berth-+ -p udp -m udp --dport 4789 -j DROP',
      '-i berth-i -m conntrack ! --ctstate RELATED,ESTABLISHED -j DROP',
    ]);
    expect(chains.get('BERTH-FORWARD')).toHaveLength(3);
    expect(chains.get('FORWARD')![0]).toBe('-j BERTH-FORWARD');
    expect(chains.get('INPUT')).toEqual(['-j BERTH-INPUT']);
  });

  it('adds nothing twice', async () => {
    const { iptables, chains, commands } = fakeIptables();
    await ensureBridgeIsolation(iptables, { bridge: 'berth-a', internal: false });
    const before = JSON.stringify([...chains]);
    commands.length = 0;
    await ensureBridgeIsolation(iptables, { bridge: 'berth-a', internal: false });
    expect(JSON.stringify([...chains])).toBe(before);
    expect(commands.filter((c) => !c.startsWith('-C'))).toEqual([]);
  });

  it("removes one bridge's rules without touching another's, then the chains once none are left", async () => {
    const { iptables, chains } = fakeIptables();
    await ensureBridgeIsolation(iptables, { bridge: 'berth-a', internal: false });
    await ensureBridgeIsolation(iptables, { bridge: 'berth-i', internal: true });
    await removeBridgeIsolation(iptables, 'berth-i');
    expect(chains.get('BERTH-FORWARD')).toEqual([
      '-i berth-a ! -o berth-a -j BERTH-ISOLATION',
      '! -i berth-a -o berth-a -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    ]);
    expect(chains.get('BERTH-INPUT')).toHaveLength(2);
    await expect(removeIsolationIfUnused(iptables)).resolves.toBe(false);

    await removeBridgeIsolation(iptables, 'berth-a');
    await removeBridgeIsolation(iptables, 'berth-a');
    await expect(removeIsolationIfUnused(iptables)).resolves.toBe(true);
    expect([...chains.keys()]).toEqual(['INPUT', 'FORWARD']);
    expect(chains.get('FORWARD')).toEqual([]);
    expect(chains.get('INPUT')).toEqual([]);
  });
});

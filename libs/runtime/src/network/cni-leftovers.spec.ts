import { isPerContainerChain, planLeftoverSweep, unusedSharedChains } from './cni-leftovers';
import { parseIptablesSave } from './iptables';

/** What bridge (ipMasq), portmap and firewall leave for container ctr_gone on berth-net_a, next to ctr_kept and podman's. */
const SAVE = `*filter
:FORWARD ACCEPT [0:0]
:CNI-ADMIN - [0:0]
:CNI-FORWARD - [0:0]
-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD
-A CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN
-A CNI-FORWARD -d 10.213.1.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A CNI-FORWARD -s 10.213.1.2/32 -j ACCEPT
-A CNI-FORWARD -d 10.213.1.3/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A CNI-FORWARD -s 10.213.1.3/32 -j ACCEPT
COMMIT
*nat
:POSTROUTING ACCEPT [0:0]
:CNI-0123456789abcdef01234567 - [0:0]
:CNI-DN-0123456789abcdef01234 - [0:0]
:CNI-fedcba9876543210fedcba98 - [0:0]
:CNI-aaaaaaaaaaaaaaaaaaaaaaaa - [0:0]
:CNI-HOSTPORT-DNAT - [0:0]
-A POSTROUTING -s 10.213.1.2/32 -m comment --comment "name: \\"berth-net_a\\" id: \\"ctr_gone\\"" -j CNI-0123456789abcdef01234567
-A POSTROUTING -s 10.213.1.3/32 -m comment --comment "name: \\"berth-net_a\\" id: \\"ctr_kept\\"" -j CNI-fedcba9876543210fedcba98
-A POSTROUTING -s 10.88.0.2/32 -m comment --comment "name: \\"podman\\" id: \\"ctr_gone\\"" -j CNI-aaaaaaaaaaaaaaaaaaaaaaaa
-A CNI-0123456789abcdef01234567 -d 10.213.1.0/24 -m comment --comment "name: \\"berth-net_a\\" id: \\"ctr_gone\\"" -j ACCEPT
-A CNI-0123456789abcdef01234567 ! -d 224.0.0.0/4 -m comment --comment "name: \\"berth-net_a\\" id: \\"ctr_gone\\"" -j MASQUERADE
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"berth-net_a\\" id: \\"ctr_gone\\"" -m multiport --dports 8080 -j CNI-DN-0123456789abcdef01234
-A CNI-DN-0123456789abcdef01234 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.213.1.2:80
COMMIT
`;

describe('planLeftoverSweep', () => {
  it("deletes a gone container's jumps and chains on Berth networks, and its firewall rules, nothing else", () => {
    const plan = planLeftoverSweep(parseIptablesSave(SAVE), {
      staleContainer: (id) => id === 'ctr_gone',
      staleAddress: (ip) => ip === '10.213.1.2',
    });
    expect(plan.rules.map((r) => `${r.table} ${r.chain} ${r.args.join(' ')}`)).toEqual([
      'filter CNI-FORWARD -d 10.213.1.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      'filter CNI-FORWARD -s 10.213.1.2/32 -j ACCEPT',
      'nat POSTROUTING -s 10.213.1.2/32 -m comment --comment name: "berth-net_a" id: "ctr_gone" -j CNI-0123456789abcdef01234567',
      'nat CNI-HOSTPORT-DNAT -p tcp -m comment --comment dnat name: "berth-net_a" id: "ctr_gone" -m multiport --dports 8080 -j CNI-DN-0123456789abcdef01234',
    ]);
    expect(plan.chains).toEqual([
      { table: 'nat', chain: 'CNI-0123456789abcdef01234567' },
      { table: 'nat', chain: 'CNI-DN-0123456789abcdef01234' },
    ]);
  });

  it('finds nothing when every container stays', () => {
    expect(planLeftoverSweep(parseIptablesSave(SAVE), { staleContainer: () => false, staleAddress: () => false })).toEqual({ rules: [], chains: [] });
  });

  it('tells per-container chains from shared ones', () => {
    expect(isPerContainerChain('CNI-0123456789abcdef01234567')).toBe(true);
    expect(isPerContainerChain('CNI-DN-0123456789abcdef01234')).toBe(true);
    expect(isPerContainerChain('CNI-HOSTPORT-DNAT')).toBe(false);
    expect(isPerContainerChain('CNI-FORWARD')).toBe(false);
  });
});

describe('unusedSharedChains', () => {
  it('keeps shared chains while any container rule uses them', () => {
    expect(unusedSharedChains(parseIptablesSave(SAVE))).toEqual([]);
  });

  it('lists them once they only hold their own plumbing', () => {
    const empty = parseIptablesSave(`*filter
:FORWARD ACCEPT [0:0]
:CNI-ADMIN - [0:0]
:CNI-FORWARD - [0:0]
-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD
-A CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:CNI-HOSTPORT-DNAT - [0:0]
:CNI-HOSTPORT-MASQ - [0:0]
:CNI-HOSTPORT-SETMARK - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ
-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE
-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000
COMMIT
`);
    expect(unusedSharedChains(empty)).toEqual([
      { table: 'filter', chain: 'CNI-FORWARD' },
      { table: 'filter', chain: 'CNI-ADMIN' },
      { table: 'nat', chain: 'CNI-HOSTPORT-DNAT' },
      { table: 'nat', chain: 'CNI-HOSTPORT-SETMARK' },
      { table: 'nat', chain: 'CNI-HOSTPORT-MASQ' },
    ]);
  });
});

import { findPortClash, portsClash } from './published-ports';

describe('published ports', () => {
  const tcp80 = { hostPort: 80, containerPort: 80, protocol: 'tcp' as const };

  it('clash on the same protocol and port when the addresses meet', () => {
    expect(portsClash(tcp80, { ...tcp80, containerPort: 8080 })).toBe(true);
    expect(portsClash({ ...tcp80, hostIp: '127.0.0.1' }, tcp80)).toBe(true);
    expect(portsClash({ ...tcp80, hostIp: '127.0.0.1' }, { ...tcp80, hostIp: '0.0.0.0' })).toBe(true);
    expect(portsClash({ ...tcp80, hostIp: '127.0.0.1' }, { ...tcp80, hostIp: '127.0.0.1' })).toBe(true);
    expect(portsClash({ ...tcp80, hostIp: '127.0.0.1' }, { ...tcp80, hostIp: '10.0.0.1' })).toBe(false);
    expect(portsClash(tcp80, { ...tcp80, protocol: 'udp' })).toBe(false);
    expect(portsClash(tcp80, { ...tcp80, hostPort: 81 })).toBe(false);
  });

  it('find the first wanted port another container holds, ignoring failed containers', () => {
    const failed = { teamId: 't1', name: 'dead', status: 'failed', ports: [tcp80] };
    const web = { teamId: 't1', name: 'web', status: 'running', ports: [{ ...tcp80, hostPort: 443 }] };
    expect(findPortClash([tcp80], [failed, web])).toBeUndefined();
    expect(findPortClash([tcp80, { ...tcp80, hostPort: 443 }], [failed, web])).toEqual({ port: { ...tcp80, hostPort: 443 }, holder: web });
    expect(findPortClash([], [web])).toBeUndefined();
  });
});

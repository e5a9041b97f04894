import { DEFAULT_TEAM_POLICY } from './entities/team.entity';
import { PermissionDeniedError } from './errors';
import { allowedBindRoot, assertSecurityAllowed, checkMounts, normalizeHostPath } from './security-policy';

describe('the team security policy', () => {
  it('lets Docker’s defaults and dropped capabilities through', () => {
    expect(() => assertSecurityAllowed(undefined, DEFAULT_TEAM_POLICY)).not.toThrow();
    expect(() => assertSecurityAllowed({ capDrop: ['ALL'], readOnlyRootfs: true }, DEFAULT_TEAM_POLICY)).not.toThrow();
  });

  it('refuses privileged, unconfined and added capabilities by default, naming the reason', () => {
    expect(() => assertSecurityAllowed({ privileged: true }, DEFAULT_TEAM_POLICY)).toThrow(expect.objectContaining({ reason: 'PrivilegedNotAllowed' }));
    expect(() => assertSecurityAllowed({ seccompProfile: 'unconfined' }, DEFAULT_TEAM_POLICY)).toThrow(PermissionDeniedError);
    expect(() => assertSecurityAllowed({ capAdd: ['NET_ADMIN', 'CAP_SYS_TIME'] }, DEFAULT_TEAM_POLICY)).toThrow(/NET_ADMIN, SYS_TIME/);
  });

  it('allows what the policy lists, with or without the CAP_ prefix', () => {
    const policy = { allowPrivileged: false, allowedCapabilities: ['CAP_NET_ADMIN'] };
    expect(() => assertSecurityAllowed({ capAdd: ['net_admin'] }, policy)).not.toThrow();
    expect(() => assertSecurityAllowed({ capAdd: ['NET_ADMIN', 'SYS_ADMIN'] }, policy)).toThrow(/SYS_ADMIN/);
    expect(() => assertSecurityAllowed({ privileged: true, capAdd: ['SYS_ADMIN'] }, { allowPrivileged: true, allowedCapabilities: ['ALL'] })).not.toThrow();
  });
});

describe('bind mount allowlist', () => {
  const policy = { ...DEFAULT_TEAM_POLICY, allowedBindPaths: ['/srv/data/', '/opt//shared'] };

  it('allows paths under an allowed root, component by component', () => {
    expect(allowedBindRoot('/srv/data', policy)).toBe('/srv/data');
    expect(allowedBindRoot('/srv/data/app/logs', policy)).toBe('/srv/data');
    expect(allowedBindRoot('/opt/shared/x', policy)).toBe('/opt/shared');
  });

  it('refuses everything else with 403 BindNotAllowed, and everything when the list is empty', () => {
    for (const path of ['/srv/database', '/srv', '/etc/shadow', '/']) {
      expect(() => allowedBindRoot(path, policy)).toThrow(expect.objectContaining({ reason: 'BindNotAllowed' }));
    }
    expect(() => allowedBindRoot('/srv/data', DEFAULT_TEAM_POLICY)).toThrow(PermissionDeniedError);
  });

  it('normalizes how a path is spelled', () => {
    expect(normalizeHostPath('/srv//data/./x/')).toBe('/srv/data/x');
    expect(normalizeHostPath('/')).toBe('/');
  });
});

describe('mount checks', () => {
  const policy = { ...DEFAULT_TEAM_POLICY, allowedBindPaths: ['/srv/data'] };

  it('normalizes targets, marks bind roots and keeps tmpfs sizes', () => {
    expect(
      checkMounts(
        [
          { type: 'volume', source: 'pgdata', target: '/var/lib/pg/' },
          { type: 'volume', source: 'cache', target: '/cache', noCopy: true },
          { type: 'volume', target: '/anon', noCopy: false },
          { type: 'bind', source: '/srv/data//app', target: '/app', readOnly: true },
          { type: 'tmpfs', target: '/scratch', tmpfsSizeBytes: 1 << 20 },
        ],
        policy,
      ),
    ).toEqual([
      { type: 'volume', source: 'pgdata', target: '/var/lib/pg', readOnly: false },
      { type: 'volume', source: 'cache', target: '/cache', readOnly: false, noCopy: true },
      { type: 'volume', source: undefined, target: '/anon', readOnly: false },
      { type: 'bind', source: '/srv/data/app', target: '/app', readOnly: true, allowedRoot: '/srv/data' },
      { type: 'tmpfs', target: '/scratch', readOnly: false, tmpfsSizeBytes: 1 << 20 },
    ]);
  });

  it('names the field of a bad mount, and refuses binds outside the allowlist with 403', () => {
    const field = (mounts: Parameters<typeof checkMounts>[0]) => {
      try {
        checkMounts(mounts, policy);
        return 'accepted';
      } catch (err) {
        return (err as { violations?: { field: string }[]; reason?: string }).violations?.[0]?.field ?? (err as { reason: string }).reason;
      }
    };
    expect(field([{ type: 'volume', target: 'relative' }])).toBe('mounts[0].target');
    expect(field([{ type: 'volume', target: '/' }])).toBe('mounts[0].target');
    expect(
      field([
        { type: 'tmpfs', target: '/a' },
        { type: 'tmpfs', target: '/a/' },
      ]),
    ).toBe('mounts[1].target');
    expect(field([{ type: 'tmpfs', target: '/a', source: 'x' }])).toBe('mounts[0].source');
    expect(field([{ type: 'volume', target: '/a', source: '../etc' }])).toBe('mounts[0].source');
    expect(field([{ type: 'bind', target: '/a', source: '/srv/data/../../etc' }])).toBe('mounts[0].source');
    expect(field([{ type: 'volume', target: '/a', tmpfsSizeBytes: 5 }])).toBe('mounts[0].tmpfsSizeBytes');
    expect(
      field([
        { type: 'volume', target: '/v' },
        { type: 'tmpfs', target: '/a', noCopy: true },
      ]),
    ).toBe('mounts[1].noCopy');
    expect(field([{ type: 'bind', target: '/a', source: '/srv/data', noCopy: false }])).toBe('mounts[0].noCopy');
    expect(field([{ type: 'bind', target: '/a', source: '/etc' }])).toBe('BindNotAllowed');
  });
});

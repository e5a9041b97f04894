import { DEFAULT_TEAM_POLICY } from './entities/team.entity';
import { PermissionDeniedError } from './errors';
import { assertSecurityAllowed } from './security-policy';

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

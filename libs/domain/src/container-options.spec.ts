import { assertCreateOptions } from './container-options';
import { DEFAULT_TEAM_POLICY } from './entities/team.entity';
import { InvalidArgumentError, PermissionDeniedError } from './errors';

describe('assertCreateOptions', () => {
  const bridge = { networkMode: 'bridge' as const, networks: 0, ports: 0 };

  it('lets bridge mode have networks and ports', () => {
    expect(() => assertCreateOptions({ ...bridge, networks: 2, ports: 1 }, DEFAULT_TEAM_POLICY)).not.toThrow();
  });

  it('refuses the host’s network unless the team’s policy allows it', () => {
    expect(() => assertCreateOptions({ ...bridge, networkMode: 'host' }, DEFAULT_TEAM_POLICY)).toThrow(PermissionDeniedError);
    expect(() => assertCreateOptions({ ...bridge, networkMode: 'host' }, DEFAULT_TEAM_POLICY)).toThrow(
      expect.objectContaining({ reason: 'HostNetworkNotAllowed' }),
    );
    expect(() => assertCreateOptions({ ...bridge, networkMode: 'host' }, { ...DEFAULT_TEAM_POLICY, allowHostNetwork: true })).not.toThrow();
  });

  it('refuses networks, then ports, outside bridge mode, naming the field', () => {
    const both = () => assertCreateOptions({ networkMode: 'none', networks: 1, ports: 1 }, DEFAULT_TEAM_POLICY);
    expect(both).toThrow(InvalidArgumentError);
    expect(both).toThrow(expect.objectContaining({ reason: 'ConflictingOptions', violations: [expect.objectContaining({ field: 'networks' })] }));
    expect(() => assertCreateOptions({ networkMode: 'none', networks: 0, ports: 1 }, DEFAULT_TEAM_POLICY)).toThrow(
      expect.objectContaining({ violations: [expect.objectContaining({ field: 'ports', message: 'networks and ports need networkMode bridge, not none' })] }),
    );
    expect(() => assertCreateOptions({ networkMode: 'none', networks: 0, ports: 0 }, DEFAULT_TEAM_POLICY)).not.toThrow();
  });

  it('checks the policy before the networking conflict', () => {
    expect(() => assertCreateOptions({ networkMode: 'host', networks: 1, ports: 0 }, DEFAULT_TEAM_POLICY)).toThrow(PermissionDeniedError);
  });

  it('refuses autoRemove with a restart policy other than no', () => {
    expect(() => assertCreateOptions({ ...bridge, autoRemove: true, restartPolicy: { name: 'always' } }, DEFAULT_TEAM_POLICY)).toThrow(
      expect.objectContaining({ reason: 'ConflictingOptions', violations: [expect.objectContaining({ field: 'restartPolicy' })] }),
    );
    expect(() => assertCreateOptions({ ...bridge, autoRemove: true, restartPolicy: { name: 'no' } }, DEFAULT_TEAM_POLICY)).not.toThrow();
    expect(() => assertCreateOptions({ ...bridge, autoRemove: false, restartPolicy: { name: 'always' } }, DEFAULT_TEAM_POLICY)).not.toThrow();
  });
});

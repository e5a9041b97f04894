import type { NetworkMode, RestartPolicy } from './container-spec';
import type { TeamPolicy } from './entities/team.entity';
import { InvalidArgumentError, PermissionDeniedError } from './errors';

export interface CreateOptions {
  networkMode: NetworkMode;
  /** How many networks and published ports were asked for. */
  networks: number;
  ports: number;
  autoRemove?: boolean;
  restartPolicy?: Pick<RestartPolicy, 'name'>;
}

/**
 * Options of a new container that cannot go together, or that the team's policy
 * does not allow: the host's network (by policy), networks or ports outside bridge
 * mode, and autoRemove with a restart policy.
 */
export function assertCreateOptions(options: CreateOptions, policy: TeamPolicy): void {
  const { networkMode } = options;
  if (networkMode === 'host' && !policy.allowHostNetwork) {
    throw new PermissionDeniedError('the host’s network is not allowed by the team’s policy; an administrator can allow it', 'HostNetworkNotAllowed');
  }
  if (networkMode !== 'bridge' && (options.networks || options.ports)) {
    const message = `networks and ports need networkMode bridge, not ${networkMode}`;
    throw new InvalidArgumentError(message, [{ field: options.networks ? 'networks' : 'ports', message }], 'ConflictingOptions');
  }
  if (options.autoRemove && options.restartPolicy && options.restartPolicy.name !== 'no') {
    const message = 'a container cannot both be removed when it exits (autoRemove) and restarted by a restart policy';
    throw new InvalidArgumentError(message, [{ field: 'restartPolicy', message }], 'ConflictingOptions');
  }
}

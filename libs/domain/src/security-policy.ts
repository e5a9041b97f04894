import type { ContainerSecurity } from './container-spec';
import type { TeamPolicy } from './entities/team.entity';
import { PermissionDeniedError } from './errors';

function capabilityName(cap: string): string {
  return cap.toUpperCase().replace(/^CAP_/, '');
}

/**
 * Refuses what a team's policy does not allow, before anything is stored:
 * privileged containers, seccomp turned off, and capabilities beyond Docker's defaults.
 */
export function assertSecurityAllowed(security: ContainerSecurity | undefined, policy: TeamPolicy): void {
  if (!security) return;
  if (security.privileged && !policy.allowPrivileged) {
    throw new PermissionDeniedError('privileged containers are not allowed by the team’s policy; an administrator can allow them', 'PrivilegedNotAllowed');
  }
  if (security.seccompProfile === 'unconfined' && !policy.allowPrivileged) {
    throw new PermissionDeniedError('running without seccomp is not allowed by the team’s policy; an administrator can allow it', 'UnconfinedNotAllowed');
  }
  const allowed = new Set(policy.allowedCapabilities.map(capabilityName));
  if (allowed.has('ALL')) return;
  const refused = (security.capAdd ?? []).map(capabilityName).filter((c) => !allowed.has(c));
  if (refused.length) {
    throw new PermissionDeniedError(`the team’s policy does not allow adding ${refused.join(', ')}; an administrator can allow it`, 'CapabilityNotAllowed');
  }
}

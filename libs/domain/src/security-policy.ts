import type { ContainerMount, ContainerSecurity } from './container-spec';
import type { TeamPolicy } from './entities/team.entity';
import { InvalidArgumentError, PermissionDeniedError } from './errors';
import { RESOURCE_NAME } from './ids';

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

/** `/srv//data/` → `/srv/data`: one spelling per absolute path (no `.` or `..` expected). */
export function normalizeHostPath(path: string): string {
  const parts = path.split('/').filter((p) => p && p !== '.');
  return `/${parts.join('/')}`;
}

/**
 * The allowed root a bind source lies under (component by component: `/srv/data`
 * allows `/srv/data/x`, not `/srv/database`), or a 403 naming the source. Symlinks
 * are the worker's to resolve; it checks again against the root returned here.
 */
export function allowedBindRoot(source: string, policy: TeamPolicy): string {
  const path = normalizeHostPath(source);
  const root = (policy.allowedBindPaths ?? []).map(normalizeHostPath).find((r) => r === '/' || path === r || path.startsWith(`${r}/`));
  if (!root) {
    throw new PermissionDeniedError(
      `bind mounts from ${source} are not allowed by the team’s policy; an administrator can allow a directory above it`,
      'BindNotAllowed',
    );
  }
  return root;
}

/**
 * Checks a create's mounts before anything is stored: absolute, distinct targets;
 * volume names; bind sources on the team's allowlist (403 otherwise), each
 * marked with the root it matched; tmpfs without a source; `noCopy` on volumes only.
 */
export function checkMounts(mounts: ContainerMount[], policy: TeamPolicy): ContainerMount[] {
  const seen = new Set<string>();
  return mounts.map((m, i) => {
    const field = (name: string) => `mounts[${i}].${name}`;
    const bad = (name: string, message: string) => new InvalidArgumentError(`${field(name)} ${message}`, [{ field: field(name), message }], 'InvalidMount');
    if (!m.target.startsWith('/') || m.target.split('/').some((p) => p === '..' || p === '.')) throw bad('target', 'must be an absolute path without . or ..');
    const target = normalizeHostPath(m.target);
    if (target === '/') throw bad('target', 'cannot be /');
    if (seen.has(target)) throw bad('target', `mounts ${target} twice`);
    seen.add(target);
    if (m.type !== 'tmpfs' && m.tmpfsSizeBytes !== undefined) throw bad('tmpfsSizeBytes', 'is for tmpfs mounts only');
    if (m.type !== 'volume' && m.noCopy !== undefined) throw bad('noCopy', 'is for volume mounts only');
    switch (m.type) {
      case 'tmpfs':
        if (m.source !== undefined) throw bad('source', 'must be absent for a tmpfs mount');
        return { type: 'tmpfs', target, readOnly: m.readOnly === true, ...(m.tmpfsSizeBytes !== undefined ? { tmpfsSizeBytes: m.tmpfsSizeBytes } : {}) };
      case 'volume':
        if (m.source !== undefined && !RESOURCE_NAME.test(m.source)) throw bad('source', 'must be a volume name (letters, digits, _ . -)');
        return { type: 'volume', source: m.source, target, readOnly: m.readOnly === true, ...(m.noCopy === true ? { noCopy: true } : {}) };
      case 'bind': {
        if (!m.source || !m.source.startsWith('/') || m.source.split('/').some((p) => p === '..'))
          throw bad('source', 'must be an absolute host path without ..');
        const source = normalizeHostPath(m.source);
        return { type: 'bind', source, target, readOnly: m.readOnly === true, allowedRoot: allowedBindRoot(source, policy) };
      }
    }
  });
}

import { readFile } from 'node:fs/promises';
import { FailedPreconditionError, InvalidArgumentError } from '@berth/domain';

/**
 * Docker's seccomp profile format (`/usr/share/berth/seccomp/default.json`) and
 * its translation into the OCI `linux.seccomp` object, with Docker's rules: the
 * host architecture picks `architectures` from `archMap`, and a syscall rule
 * applies when its `includes` all match (capabilities, architecture, minimum
 * kernel) and none of its `excludes` does.
 */

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface SeccompFilter {
  caps?: string[] | null;
  arches?: string[] | null;
  minKernel?: string | null;
}

export interface DockerSeccompSyscall {
  name?: string;
  names?: string[] | null;
  action: string;
  args?: SeccompArg[] | null;
  errnoRet?: number | null;
  comment?: string;
  includes?: SeccompFilter | null;
  excludes?: SeccompFilter | null;
}

export interface DockerSeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number | null;
  architectures?: string[] | null;
  archMap?: { architecture: string; subArchitectures?: string[] | null }[] | null;
  flags?: string[] | null;
  syscalls?: DockerSeccompSyscall[] | null;
}

export interface OciSeccompSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[];
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  syscalls: OciSeccompSyscall[];
}

export interface SeccompHost {
  /** The container's bounding capabilities, `CAP_` names. */
  capabilities: readonly string[];
  /** `process.arch` (x64, arm64, …) or a Go architecture name (amd64, …). */
  arch: string;
  /** `os.release()`: `6.1.0-13-amd64`. */
  kernel: string;
}

export const DEFAULT_SECCOMP_PROFILE_PATH = '/usr/share/berth/seccomp/default.json';

/** EPERM, as Docker's profile means when it names no errno. */
const EPERM = 1;

/** Node's architecture names → Go's, which Docker's profiles use in `includes.arches`. */
const NODE_TO_GO_ARCH: Record<string, string> = {
  x64: 'amd64',
  ia32: '386',
  arm64: 'arm64',
  arm: 'arm',
  s390x: 's390x',
  ppc64: 'ppc64le',
  mips: 'mips',
  mipsel: 'mipsle',
  riscv64: 'riscv64',
  loong64: 'loong64',
};

/** Go's architecture names → libseccomp's, as moby's nativeToSeccomp. */
const GO_TO_SECCOMP_ARCH: Record<string, string> = {
  '386': 'SCMP_ARCH_X86',
  x86: 'SCMP_ARCH_X86',
  amd64: 'SCMP_ARCH_X86_64',
  arm: 'SCMP_ARCH_ARM',
  arm64: 'SCMP_ARCH_AARCH64',
  mips: 'SCMP_ARCH_MIPS',
  mipsle: 'SCMP_ARCH_MIPSEL',
  mips64: 'SCMP_ARCH_MIPS64',
  mips64n32: 'SCMP_ARCH_MIPS64N32',
  mipsel64: 'SCMP_ARCH_MIPSEL64',
  mips3l64n32: 'SCMP_ARCH_MIPSEL64N32',
  ppc: 'SCMP_ARCH_PPC',
  ppc64: 'SCMP_ARCH_PPC64',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  riscv64: 'SCMP_ARCH_RISCV64',
  s390: 'SCMP_ARCH_S390',
  s390x: 'SCMP_ARCH_S390X',
};

export function goArch(arch: string): string {
  return NODE_TO_GO_ARCH[arch] ?? arch;
}

/** The OCI seccomp object for a container with these capabilities on this host. Pure. */
export function seccompFromDockerProfile(profile: DockerSeccompProfile, host: SeccompHost): OciSeccomp {
  if (profile.architectures?.length && profile.archMap?.length) {
    throw new InvalidArgumentError("a seccomp profile names either 'architectures' or 'archMap', not both", [], 'InvalidSeccompProfile');
  }
  const arch = goArch(host.arch);
  const native = GO_TO_SECCOMP_ARCH[arch];
  const architectures = [...(profile.architectures ?? [])];
  for (const entry of profile.archMap ?? []) {
    if (entry.architecture === native) architectures.push(entry.architecture, ...(entry.subArchitectures ?? []));
  }
  const caps = new Set(host.capabilities);
  const kernel = parseKernelVersion(host.kernel);
  const syscalls: OciSeccompSyscall[] = [];
  for (const call of profile.syscalls ?? []) {
    if (!ruleApplies(call, { caps, arch, kernel })) continue;
    const names = [...(call.names ?? []), ...(call.name ? [call.name] : [])];
    if (names.length === 0) continue;
    syscalls.push({
      names,
      action: call.action,
      ...(typeof call.errnoRet === 'number' ? { errnoRet: call.errnoRet } : {}),
      ...(call.args?.length ? { args: call.args.map((arg) => ({ ...arg })) } : {}),
    });
  }
  return {
    defaultAction: profile.defaultAction,
    defaultErrnoRet: typeof profile.defaultErrnoRet === 'number' ? profile.defaultErrnoRet : EPERM,
    ...(architectures.length ? { architectures } : {}),
    ...(profile.flags?.length ? { flags: [...profile.flags] } : {}),
    syscalls,
  };
}

interface RuleContext {
  caps: Set<string>;
  arch: string;
  kernel: number[];
}

function ruleApplies(call: DockerSeccompSyscall, host: RuleContext): boolean {
  const { includes, excludes } = call;
  if (excludes?.arches?.includes(host.arch)) return false;
  if (excludes?.caps?.some((cap) => host.caps.has(cap))) return false;
  if (excludes?.minKernel && kernelAtLeast(host.kernel, excludes.minKernel)) return false;
  if (includes?.arches?.length && !includes.arches.includes(host.arch)) return false;
  if (includes?.caps?.length && !includes.caps.every((cap) => host.caps.has(cap))) return false;
  if (includes?.minKernel && !kernelAtLeast(host.kernel, includes.minKernel)) return false;
  return true;
}

/** `6.1.0-13-amd64` → [6, 1, 0]; what does not parse counts as 0. */
export function parseKernelVersion(release: string): number[] {
  const match = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(release.trim());
  return match ? [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)] : [0, 0, 0];
}

function kernelAtLeast(kernel: number[], minimum: string): boolean {
  const wanted = parseKernelVersion(minimum);
  for (let i = 0; i < 3; i++) {
    if (kernel[i] !== wanted[i]) return kernel[i] > wanted[i];
  }
  return true;
}

/** Reads a profile file; a missing or unreadable one is a FailedPrecondition (never a silent unconfined). */
export async function loadDockerSeccompProfile(path: string): Promise<DockerSeccompProfile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new FailedPreconditionError(
      `the seccomp profile ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): containers are not run unconfined`,
      'SeccompProfileMissing',
    );
  }
  let profile: DockerSeccompProfile;
  try {
    profile = JSON.parse(text) as DockerSeccompProfile;
  } catch {
    throw new FailedPreconditionError(`the seccomp profile ${path} is not valid JSON`, 'SeccompProfileInvalid');
  }
  if (!profile || typeof profile.defaultAction !== 'string' || (profile.syscalls != null && !Array.isArray(profile.syscalls))) {
    throw new FailedPreconditionError(`the seccomp profile ${path} is not a Docker seccomp profile`, 'SeccompProfileInvalid');
  }
  return profile;
}

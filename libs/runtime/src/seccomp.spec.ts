import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CAPABILITIES } from './oci-security';
import {
  DEFAULT_SECCOMP_PROFILE_PATH,
  loadDockerSeccompProfile,
  parseKernelVersion,
  seccompFromDockerProfile,
  type DockerSeccompProfile,
  type OciSeccomp,
} from './seccomp';

const host = { capabilities: [...DEFAULT_CAPABILITIES], arch: 'x64', kernel: '6.1.0-13-amd64' };

const profile = (syscalls: DockerSeccompProfile['syscalls'], extra: Partial<DockerSeccompProfile> = {}): DockerSeccompProfile => ({
  defaultAction: 'SCMP_ACT_ERRNO',
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
  ],
  syscalls,
  ...extra,
});

const names = (seccomp: OciSeccomp) => seccomp.syscalls.flatMap((s) => s.names);

describe('seccompFromDockerProfile', () => {
  it('takes the architectures of the host from archMap, and EPERM as the default errno', () => {
    const x64 = seccompFromDockerProfile(profile([]), host);
    expect(x64).toEqual({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 1,
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [],
    });
    expect(seccompFromDockerProfile(profile([]), { ...host, arch: 'arm64' }).architectures).toEqual(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    expect(seccompFromDockerProfile(profile([]), { ...host, arch: 'amd64' }).architectures?.[0]).toBe('SCMP_ARCH_X86_64');
    expect(seccompFromDockerProfile(profile([]), { ...host, arch: 'riscv64' }).architectures).toBeUndefined();
    expect(seccompFromDockerProfile(profile([], { defaultErrnoRet: 38 }), host).defaultErrnoRet).toBe(38);
  });

  it('keeps unconditional rules with their args and errnoRet', () => {
    const args = [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }];
    const seccomp = seccompFromDockerProfile(
      profile([
        { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW', args: null, includes: {}, excludes: {} },
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args },
        { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
        { name: 'old_style', action: 'SCMP_ACT_ALLOW' },
      ]),
      host,
    );
    expect(seccomp.syscalls).toEqual([
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['personality'], action: 'SCMP_ACT_ALLOW', args },
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
      { names: ['old_style'], action: 'SCMP_ACT_ALLOW' },
    ]);
  });

  it('applies a rule that includes capabilities only when the container has them all', () => {
    const rules = profile([
      { names: ['mount', 'unshare'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['both'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'] } },
    ]);
    expect(names(seccompFromDockerProfile(rules, host))).toEqual([]);
    expect(names(seccompFromDockerProfile(rules, { ...host, capabilities: [...host.capabilities, 'CAP_SYS_ADMIN'] }))).toEqual(['mount', 'unshare']);
    expect(names(seccompFromDockerProfile(rules, { ...host, capabilities: [...host.capabilities, 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'] }))).toEqual([
      'mount',
      'unshare',
      'both',
    ]);
  });

  it('drops a rule whose excludes match: any excluded capability or architecture', () => {
    const rules = profile([
      {
        names: ['clone'],
        action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }],
        excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] },
      },
    ]);
    expect(names(seccompFromDockerProfile(rules, host))).toEqual(['clone']);
    expect(names(seccompFromDockerProfile(rules, { ...host, capabilities: ['CAP_SYS_ADMIN'] }))).toEqual([]);
    expect(names(seccompFromDockerProfile(rules, { ...host, arch: 's390x' }))).toEqual([]);
  });

  it('matches architectures by their Go names (x64 is amd64)', () => {
    const rules = profile([
      { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64', 'x32'] } },
      { names: ['arm_fadvise64_64'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm', 'arm64'] } },
    ]);
    expect(names(seccompFromDockerProfile(rules, host))).toEqual(['arch_prctl']);
    expect(names(seccompFromDockerProfile(rules, { ...host, arch: 'arm64' }))).toEqual(['arm_fadvise64_64']);
  });

  it('honours minKernel in includes and excludes', () => {
    const rules = profile([
      { names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '4.8' } },
      { names: ['legacy'], action: 'SCMP_ACT_ALLOW', excludes: { minKernel: '5.10' } },
    ]);
    expect(names(seccompFromDockerProfile(rules, { ...host, kernel: '4.19.0' }))).toEqual(['ptrace', 'legacy']);
    expect(names(seccompFromDockerProfile(rules, { ...host, kernel: '4.4.0-210-generic' }))).toEqual(['legacy']);
    expect(names(seccompFromDockerProfile(rules, { ...host, kernel: '5.10' }))).toEqual(['ptrace']);
    expect(names(seccompFromDockerProfile(rules, { ...host, kernel: '4.8.0' }))).toEqual(['ptrace', 'legacy']);
  });

  it('refuses a profile with both architectures and archMap', () => {
    expect(() => seccompFromDockerProfile(profile([], { architectures: ['SCMP_ARCH_X86_64'] }), host)).toThrow(
      expect.objectContaining({ reason: 'InvalidSeccompProfile' }),
    );
  });

  it('parses kernel releases', () => {
    expect(parseKernelVersion('6.18.44-fc-v782')).toEqual([6, 18, 44]);
    expect(parseKernelVersion('5.4')).toEqual([5, 4, 0]);
    expect(parseKernelVersion('nonsense')).toEqual([0, 0, 0]);
  });
});

describe("Docker's default profile", () => {
  let loaded: DockerSeccompProfile;
  beforeAll(async () => {
    loaded = await loadDockerSeccompProfile(DEFAULT_SECCOMP_PROFILE_PATH);
  });

  it('loads and allows the usual syscalls, with unshare and mount only for CAP_SYS_ADMIN', () => {
    const confined = seccompFromDockerProfile(loaded, host);
    expect(confined.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(confined.architectures).toContain('SCMP_ARCH_X86_64');
    const allowed = (s: OciSeccomp) => new Set(s.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args).flatMap((r) => r.names));
    expect(allowed(confined).has('read')).toBe(true);
    expect(allowed(confined).has('chroot')).toBe(true); // CAP_SYS_CHROOT is a default capability
    expect(allowed(confined).has('unshare')).toBe(false);
    expect(allowed(confined).has('mount')).toBe(false);
    expect(allowed(confined).has('arch_prctl')).toBe(true);
    // Without CAP_SYS_ADMIN, clone is allowed only without namespace flags.
    expect(confined.syscalls.find((r) => r.names.includes('clone'))?.args).toEqual([expect.objectContaining({ op: 'SCMP_CMP_MASKED_EQ' })]);

    const admin = seccompFromDockerProfile(loaded, { ...host, capabilities: [...host.capabilities, 'CAP_SYS_ADMIN'] });
    expect(allowed(admin).has('unshare')).toBe(true);
    expect(allowed(admin).has('mount')).toBe(true);
    expect(admin.syscalls.filter((r) => r.names.includes('clone')).every((r) => !r.args)).toBe(true);
  });

  it('is refused when missing or not a profile (never a silent unconfined)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-seccomp-'));
    try {
      await expect(loadDockerSeccompProfile(join(dir, 'missing.json'))).rejects.toMatchObject({
        errorClass: 'FailedPrecondition',
        reason: 'SeccompProfileMissing',
      });
      await writeFile(join(dir, 'bad.json'), '{"syscalls": []}');
      await expect(loadDockerSeccompProfile(join(dir, 'bad.json'))).rejects.toMatchObject({ reason: 'SeccompProfileInvalid' });
      await writeFile(join(dir, 'garbage.json'), 'not json');
      await expect(loadDockerSeccompProfile(join(dir, 'garbage.json'))).rejects.toMatchObject({ reason: 'SeccompProfileInvalid' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

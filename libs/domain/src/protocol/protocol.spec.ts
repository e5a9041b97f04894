import { InvalidArgumentError } from '../errors';
import { newId } from '../ids';
import { newSealingKeyPair, sealLogin } from './sealing';
import { JOB_NAMES, JOB_SCHEMAS, JobName, JobPayloads, parseJob, parseReport, parseRpcRequest, parseTtyInput } from './index';

const D = (c: string) => `sha256:${c.repeat(64)}`;
const op = newId('operation');
const team = newId('team');
const ctr = newId('container');
const net = newId('network');
const host = newId('host');
const base = { operationId: op, teamId: team, containerId: ctr };

const network = {
  networkId: net,
  name: 'default',
  bridge: 'berth-0123abcde',
  subnet: '10.88.0.0/24',
  gateway: '10.88.0.1',
  internal: false,
  ipAddress: '10.88.0.2',
  aliases: ['web'],
};

/** A create job as containers.service builds it, with every optional field the API may set. */
function convergeJob(): JobPayloads[JobName.ContainerConverge] {
  return {
    ...base,
    generation: 1,
    desired: 'running',
    stopTimeoutSec: 10,
    spec: {
      name: 'berth-1a2b3c4d',
      image: 'docker.io/library/busybox:latest',
      imageDigest: D('a'),
      pullPolicy: 'missing',
      networkMode: 'bridge',
      cmd: ['sh', '-c', 'echo hi'],
      entrypoint: [],
      env: ['A=1'],
      workingDir: '/srv',
      user: '1000:1000',
      hostname: 'web',
      dns: { servers: ['1.1.1.1'], search: ['example.com'], options: ['ndots:2'] },
      labels: { app: 'web' },
      resources: {
        memoryBytes: 64 * 1024 * 1024,
        memorySwapBytes: -1,
        cpus: 0.5,
        cpuShares: 512,
        cpusetCpus: '0-1',
        pidsLimit: 100,
        ulimits: [{ name: 'nofile', soft: 1024, hard: 4096 }],
        shmSizeBytes: 65536,
      },
      security: { privileged: false, capAdd: ['NET_ADMIN'], capDrop: ['ALL'], readOnlyRootfs: true, noNewPrivileges: true, seccompProfile: 'default' },
      autoRemove: false,
      restartPolicy: { name: 'on-failure', maxRetries: 3 },
      healthcheck: { cmd: ['true'], intervalMs: 30_000, timeoutMs: 30_000, retries: 3, startPeriodMs: 0 },
      mounts: [
        { type: 'volume', source: 'data', target: '/data', readOnly: false, volumeId: newId('volume') },
        { type: 'bind', source: '/srv/www', target: '/www', readOnly: true, allowedRoot: '/srv' },
        { type: 'tmpfs', target: '/tmp', readOnly: false, tmpfsSizeBytes: 1 << 20 },
      ],
      networks: [network],
      ports: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1' }],
    },
    pull: {
      policy: 'missing',
      login: sealLogin({ server: 'r.example:5000', username: 'u', password: 'p' }, newSealingKeyPair().publicKey, { hostName: 'h1', teamId: team }),
    },
  };
}

/** One payload each job of the catalogue accepts, shaped as the API's producers make them. */
const valid: { [N in JobName]: JobPayloads[N] } = {
  [JobName.ContainerConverge]: convergeJob(),
  [JobName.ContainerSignal]: { ...base, signal: 'SIGKILL' },
  [JobName.ContainerPause]: base,
  [JobName.ContainerUnpause]: base,
  [JobName.ContainerRestart]: { ...base, stopTimeoutSec: 0 },
  [JobName.ContainerUpdate]: { ...base, resources: { memoryBytes: 8 << 20, cpus: 1.5 } },
  [JobName.ContainerNetworks]: { ...base, networks: [network], ports: [] },
  [JobName.ImageLoad]: {
    operationId: op,
    teamId: team,
    uploadId: newId('upload'),
    downloadPath: `/v1/internal/uploads/${newId('upload')}?expires=1767225600000&sig=abc_DEF-123`,
    sizeBytes: 1024,
    sha256: 'f'.repeat(64),
  },
  [JobName.ImagePull]: { operationId: op, teamId: team, reference: 'docker.io/library/busybox:latest', platform: 'linux/arm/v7' },
  [JobName.ImagePush]: { operationId: op, teamId: team, digest: D('b'), reference: '127.0.0.1:5000/team/app:1' },
  [JobName.ImageRemove]: { operationId: op, teamId: team, digests: [D('c')], at: new Date().toISOString() },
  [JobName.VolumeRemove]: { operationId: op, teamId: team, volumeIds: [newId('volume')] },
  [JobName.NetworkSync]: {
    networkId: net,
    bridge: 'berth-0123abcde',
    revision: 3,
    vni: 4097,
    hosts: [
      { hostId: host, name: 'h1', overlayAddress: '192.0.2.10' },
      { hostId: newId('host'), name: 'h2' },
    ],
    endpoints: [{ containerId: ctr, name: 'web', hostId: host, ipAddress: '10.88.0.2', aliases: [] }],
  },
};

/** One malformed payload per job, and the field its error must name. */
const invalid: { [N in JobName]: [unknown, string] } = {
  [JobName.ContainerConverge]: [{ ...convergeJob(), spec: { ...convergeJob().spec, name: '../../etc' } }, 'spec.name'],
  [JobName.ContainerSignal]: [{ ...base, signal: 'KILL; rm -rf /' }, 'signal'],
  [JobName.ContainerPause]: [{ ...base, containerId: 'vol_01hzzzzzzzzzzzzzzzzzzzzzzz' }, 'containerId'],
  [JobName.ContainerUnpause]: [{ operationId: op, teamId: team }, 'containerId'],
  [JobName.ContainerRestart]: [{ ...base, stopTimeoutSec: -1 }, 'stopTimeoutSec'],
  [JobName.ContainerUpdate]: [{ ...base, resources: { cpusetCpus: '0-1;reboot' } }, 'resources.cpusetCpus'],
  [JobName.ContainerNetworks]: [{ ...base, networks: [{ ...network, bridge: 'a-bridge-name-too-long' }], ports: [] }, 'networks.0.bridge'],
  [JobName.ImageLoad]: [{ ...valid[JobName.ImageLoad], downloadPath: 'http://elsewhere/steal' }, 'downloadPath'],
  [JobName.ImagePull]: [{ ...valid[JobName.ImagePull], reference: 'UPPER/Case' }, 'reference'],
  [JobName.ImagePush]: [{ ...valid[JobName.ImagePush], digest: 'sha256:abc' }, 'digest'],
  [JobName.ImageRemove]: [{ ...valid[JobName.ImageRemove], at: 'yesterday' }, 'at'],
  [JobName.VolumeRemove]: [{ ...valid[JobName.VolumeRemove], volumeIds: ['../..'] }, 'volumeIds.0'],
  [JobName.NetworkSync]: [{ ...valid[JobName.NetworkSync], vni: 1 << 24 }, 'vni'],
};

describe('the job catalogue', () => {
  it('has a schema for every job name', () => {
    expect(Object.keys(JOB_SCHEMAS).sort()).toEqual([...JOB_NAMES].sort());
  });

  it.each(JOB_NAMES)('accepts %s as the API builds it, keeping every field', (name) => {
    expect(parseJob(name, JSON.parse(JSON.stringify(valid[name])))).toEqual(valid[name]);
  });

  it.each(JOB_NAMES)('refuses a malformed %s, naming the bad field', (name) => {
    const [payload, field] = invalid[name];
    let error: unknown;
    try {
      parseJob(name, payload);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ reason: 'MalformedJob', message: expect.stringContaining(`malformed ${name} job: ${field}:`) });
    expect((error as InvalidArgumentError).violations).toContainEqual(expect.objectContaining({ field }));
  });

  it('accepts what the API leaves out: no pull, no optional spec fields, an empty remove', () => {
    const { pull: _pull, ...withoutPull } = convergeJob();
    const spec = { name: 'a', image: 'docker.io/library/busybox@' + D('d'), env: [], labels: {} };
    expect(parseJob(JobName.ContainerConverge, { ...withoutPull, spec })).toEqual({ ...withoutPull, spec });
    expect(parseJob(JobName.ImageRemove, { operationId: op, teamId: team, keep: [], at: '2026-01-01T00:00:00Z' })).toMatchObject({ keep: [] });
    expect(parseJob(JobName.ContainerSignal, { ...base, signal: '9' })).toMatchObject({ signal: '9' });
  });

  it('refuses unknown jobs, payloads that are not objects, bad ids and unbounded strings', () => {
    expect(() => parseJob('container.explode', {})).toThrow(expect.objectContaining({ reason: 'UnknownJob' }));
    expect(() => parseJob(JobName.ContainerPause, null)).toThrow(/malformed container.pause job: \(payload\)/);
    expect(() => parseJob(JobName.ContainerPause, { ...base, operationId: 'op_1' })).toThrow(/operationId: must be a op_ id/);
    const long = convergeJob();
    long.spec.env = ['A=' + 'x'.repeat(70 * 1024)];
    expect(() => parseJob(JobName.ContainerConverge, long)).toThrow(/spec\.env\.0/);
    const mount = convergeJob();
    mount.spec.mounts = [{ type: 'bind', source: '/srv/../etc', target: '/x' }];
    expect(() => parseJob(JobName.ContainerConverge, mount)).toThrow(/spec\.mounts\.0\.source: must be an absolute path without \.\./);
  });

  it('drops fields the catalogue does not know rather than passing them on', () => {
    expect(parseJob(JobName.ContainerPause, { ...base, credentialsPath: '/v1/internal/registry-logins/x' })).toEqual(base);
  });
});

describe('reports', () => {
  const at = new Date().toISOString();
  const info = {
    name: 'h1',
    cpus: 4,
    memoryBytes: 8 << 30,
    kernel: '6.1.0',
    os: 'linux',
    arch: 'amd64',
    runtime: 'runc',
    runcVersion: '1.1.12',
    conmonVersion: '2.1.6',
    cgroupVersion: 2,
    workerVersion: '0.1.0',
    startedAt: at,
    volumesDir: '/var/lib/berth/worker/volumes',
    sealingKey: newSealingKeyPair().publicKey,
  };
  const image = {
    references: ['docker.io/library/busybox:latest'],
    digest: D('a'),
    configDigest: D('b'),
    sizeBytes: 10,
    config: { cmd: ['sh'], labels: {} },
    os: 'linux',
    architecture: 'amd64',
    history: [{ emptyLayer: true, sizeBytes: 0 }],
  };

  it.each([
    { kind: 'host.heartbeat', host: info, at, inventory: [{ containerId: ctr, seq: 1, observed: { status: 'running', pid: 42, generation: 2 } }] },
    { kind: 'operation', operationId: op, status: 'failed', error: { class: 'NotFound', reason: 'ImageNotFound', message: 'no image' }, at },
    { kind: 'operation', operationId: op, status: 'succeeded', result: { removed: [D('a')], bytesFreed: 12 }, at },
    { kind: 'operation.progress', operationId: op, progress: { layersDone: 1, layersTotal: 2, bytesDone: 10, bytesTotal: 20 }, at },
    {
      kind: 'container',
      hostName: 'h1',
      containerId: ctr,
      seq: 1_767_225_600_000_000,
      observed: { status: 'exited', exitCode: 137, oomKilled: true, finishedAt: at },
      at,
    },
    { kind: 'images.loaded', operationId: op, teamId: team, hostName: 'h1', images: [image], at },
  ])('accepts a $kind report as the worker sends it', (report) => {
    expect(parseReport(report)).toEqual(report);
  });

  it.each([
    [{ kind: 'host.heartbeat', host: { ...info, cgroupVersion: 3 }, at }, 'host.cgroupVersion'],
    [{ kind: 'operation', operationId: op, status: 'queued', at }, 'status'],
    [{ kind: 'container', hostName: 'h1', containerId: ctr, seq: -1, observed: { status: 'running' }, at }, 'seq'],
    [{ kind: 'images.loaded', operationId: op, teamId: team, hostName: 'h1', images: [{ ...image, digest: 'latest' }], at }, 'images.0.digest'],
    [{ kind: 'operation.progress', operationId: op, at }, 'progress'],
  ])('refuses a malformed report, naming %#', (report, field) => {
    expect(() => parseReport(report)).toThrow(expect.objectContaining({ reason: 'MalformedReport', message: expect.stringContaining(`${field}:`) }));
  });

  it('refuses a report of a kind it does not know', () => {
    expect(() => parseReport({ kind: 'host.takeover', at })).toThrow(/malformed host.takeover report: kind/);
  });
});

describe('host RPC requests', () => {
  const id = 'a1b2c3d4e5f6a1b2c3d4e5f6';
  it.each([
    { id, method: 'logs', containerId: ctr, params: { stdout: true, stderr: true, tail: 10, since: '2026-01-01T00:00:00.000Z', follow: false } },
    { id, method: 'exec', containerId: ctr, params: { cmd: ['ls', '-l'], env: ['A=1'], timeoutSec: 30 } },
    { id, method: 'stats', containerId: ctr },
    { id, method: 'top', containerId: ctr },
    { id, method: 'tty', containerId: ctr, params: { cmd: ['sh'], cols: 80, rows: 24 } },
    { id, method: 'export', images: [{ digest: D('a'), references: ['docker.io/library/busybox:latest'] }] },
    { id, method: 'volume.usage', volumeId: newId('volume') },
  ])('accepts a $method request as the API sends it', (request) => {
    expect(parseRpcRequest(request)).toEqual(request);
  });

  it.each([
    [{ id: '../../x', method: 'stats', containerId: ctr }, 'id'],
    [{ id, method: 'exec', containerId: ctr, params: { cmd: 'ls' } }, 'params.cmd'],
    [{ id, method: 'tty', containerId: ctr, params: { cmd: ['sh'], cols: 0, rows: 24 } }, 'params.cols'],
    [{ id, method: 'export', images: [{ digest: 'x', references: [] }] }, 'images.0.digest'],
    [{ id, method: 'shell', containerId: ctr }, 'method'],
  ])('refuses a malformed request, naming %#', (request, field) => {
    expect(() => parseRpcRequest(request)).toThrow(expect.objectContaining({ reason: 'MalformedRequest', message: expect.stringContaining(`${field}:`) }));
  });

  it('checks terminal input', () => {
    expect(parseTtyInput({ t: 'resize', cols: 120, rows: 40 })).toEqual({ t: 'resize', cols: 120, rows: 40 });
    expect(() => parseTtyInput({ t: 'in', d: 42 })).toThrow(/d:/);
  });
});

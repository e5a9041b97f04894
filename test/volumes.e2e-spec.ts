import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImageArchive, busyboxLayer, type LayerEntry } from '@berth/runtime/testing';
import {
  type BerthClient,
  type BerthProblem,
  type CreateContainerRequest,
  createContainer,
  createTeam,
  createVolume,
  deleteContainer,
  deleteVolume,
  getOpenApiDocument,
  getVolume,
  listContainers,
  listVolumes,
  pruneVolumes,
  setTeamPolicy,
} from '@berth/sdk';
import { env, uniqueName } from './support/api-client';
import { adminSdk, finished, loadImageTar, logText, problemOf, runContainer, sdkClient, waitForContainer } from './support/sdk';

type Mounts = NonNullable<CreateContainerRequest['mounts']>;
const admin = adminSdk();

/** Runs a shell command (busybox's, unless another image is named) to its end; answers its exit code and output. */
async function sh(client: BerthClient, script: string, mounts: Mounts, image = 'busybox') {
  const { id } = await runContainer(client, { image, cmd: ['sh', '-c', script], mounts });
  const waited = await waitForContainer(client, id, 'exited');
  const logs = await logText(client, id);
  return { id, exitCode: waited.exitCode, logs };
}

describe('volumes and mounts', () => {
  beforeAll(async () => {
    expect((await loadImageTar(admin, env.busyboxOciTar)).status).toBe('succeeded');
  });

  it('keeps a volume’s data after the container that wrote it is deleted, and shows where it lives and who uses it', async () => {
    const name = uniqueName('vol');
    const created = await createVolume({ client: admin, body: { name, labels: { app: 'db' } } });
    expect(created.response.status).toBe(201);
    expect(created.data).toMatchObject({ id: expect.stringMatching(/^vol_/), name, driver: 'local', labels: { app: 'db' }, usedBy: [] });

    const writer = await sh(admin, 'echo kept > /data/file && echo written', [{ type: 'volume', source: name, target: '/data' }]);
    expect(writer).toMatchObject({ exitCode: 0, logs: 'written\n' });
    const inUse = (await getVolume({ client: admin, path: { id: name } })).data;
    expect(inUse.usedBy).toEqual([{ id: writer.id, name: expect.any(String) }]);
    expect(inUse.sizeBytes).toBe(5);
    expect(existsSync(join(inUse.mountpoint!, 'file'))).toBe(true);
    expect((await problemOf(deleteVolume({ client: admin, path: { id: name } }))).status).toBe(409);

    expect((await deleteContainer({ client: admin, path: { id: writer.id } })).response.status).toBe(202);
    await waitForContainer(admin, writer.id, 'removed');
    const reader = await sh(admin, 'cat /data/file', [{ type: 'volume', source: name, target: '/data', readOnly: true }]);
    expect(reader).toMatchObject({ exitCode: 0, logs: 'kept\n' });
    expect((await deleteContainer({ client: admin, path: { id: reader.id } })).response.status).toBe(202);
    await waitForContainer(admin, reader.id, 'removed');

    const removed = (await deleteVolume({ client: admin, path: { id: name } })).data;
    expect(removed.deleted).toEqual([name]);
    expect((await finished(admin, removed.operations[0].id)).status).toBe('succeeded');
    expect(existsSync(inUse.mountpoint!)).toBe(false);
    expect((await problemOf(getVolume({ client: admin, path: { id: name } }))).status).toBe(404);
  });

  it('makes a named volume that does not exist yet, and a read-only mount refuses writes', async () => {
    const name = uniqueName('auto');
    const first = await sh(admin, 'echo hi > /v/x; echo $?', [{ type: 'volume', source: name, target: '/v' }]);
    expect(first.logs).toBe('0\n');
    expect((await getVolume({ client: admin, path: { id: name } })).data.name).toBe(name);
    const ro = await sh(admin, 'cat /v/x; echo no > /v/y', [{ type: 'volume', source: name, target: '/v', readOnly: true }]);
    expect(ro.exitCode).not.toBe(0);
    expect(ro.logs).toContain('hi\n');
    expect(ro.logs).toMatch(/Read-only file system/);
  });

  it('gives tmpfs mounts their size limit', async () => {
    const res = await sh(admin, 'dd if=/dev/zero of=/scratch/f bs=1024 count=2048 2>/dev/null; echo $?; wc -c < /scratch/f', [
      { type: 'tmpfs', target: '/scratch', tmpfsSizeBytes: 1024 * 1024 },
    ]);
    const [code, size] = res.logs.trim().split('\n');
    expect(code).not.toBe('0');
    expect(Number(size)).toBeLessThanOrEqual(1024 * 1024);
  });

  it('refuses bind mounts outside the team’s allowlist (403, nothing created), and allows them under it', async () => {
    const team = await createTeam({ client: admin, body: { name: uniqueName('binds').toLowerCase() } });
    expect(team.response.status).toBe(201);
    const client = sdkClient(team.data.token);
    expect((await loadImageTar(client, env.busyboxOciTar)).status).toBe('succeeded');
    const allowed = mkdtempSync(join(env.dataDir, 'allowed-'));
    writeFileSync(join(allowed, 'hello.txt'), 'from the host\n');
    mkdirSync(join(allowed, 'sub'));
    symlinkSync('/etc', join(allowed, 'sub', 'escape'));

    const volume = uniqueName('never');
    const refused = await problemOf(
      createContainer({
        client,
        body: {
          image: 'busybox',
          mounts: [
            { type: 'volume', source: volume, target: '/v' },
            { type: 'bind', source: '/etc', target: '/host-etc' },
          ],
        },
      }),
    );
    expect(refused).toMatchObject({ status: 403, reason: 'BindNotAllowed' });
    expect((await listContainers({ client })).data.items).toEqual([]);
    expect((await listVolumes({ client })).data.items).toEqual([]);

    const policy = await setTeamPolicy({
      client: admin,
      path: { id: team.data.team.id },
      body: { allowPrivileged: false, allowedCapabilities: [], allowedBindPaths: [allowed] },
    });
    expect(policy.response.status).toBe(200);
    const read = await sh(client, 'cat /host/hello.txt', [{ type: 'bind', source: allowed, target: '/host', readOnly: true }]);
    expect(read).toMatchObject({ exitCode: 0, logs: 'from the host\n' });

    // A symlink under the allowed directory that leads out of it is caught on the host.
    const escape = await createContainer({
      client,
      body: { image: 'busybox', mounts: [{ type: 'bind', source: join(allowed, 'sub', 'escape'), target: '/x' }] },
    });
    expect(escape.response.status).toBe(202);
    expect(await finished(client, escape.data.operation.id)).toMatchObject({ status: 'failed', error: { reason: 'BindNotAllowed' } });

    const bad = await problemOf(createContainer({ client, body: { image: 'busybox', mounts: [{ type: 'bind', source: allowed, target: 'relative' }] } }));
    expect(bad.status).toBe(400);
    expect(bad.errors[0].field).toBe('mounts[0].target');
  });

  it('prunes the volumes no container mounts', async () => {
    const used = uniqueName('used');
    const idle = uniqueName('idle');
    expect((await createVolume({ client: admin, body: { name: idle } })).response.status).toBe(201);
    const { id } = await runContainer(admin, { image: 'busybox', cmd: ['sleep', '1000'], mounts: [{ type: 'volume', source: used, target: '/d' }] });
    const pruned = (await pruneVolumes({ client: admin })).data;
    expect(pruned.deleted).toContain(idle);
    expect(pruned.deleted).not.toContain(used);
    expect((await getVolume({ client: admin, path: { id: used } })).response.status).toBe(200);
    expect((await deleteContainer({ client: admin, path: { id }, query: { force: true } })).response.status).toBe(202);
  });

  describe('copy-up of the image’s content into a new volume', () => {
    const image = `copy-up:${process.pid}`;

    /** busybox, then /data (owned by 1000, 0750) with a file, a directory, a symlink and a file the next layer deletes. */
    beforeAll(async () => {
      const dataDir: LayerEntry = { path: 'data', type: 'directory', mode: 0o750, uid: 1000, gid: 1000 };
      const data: LayerEntry[] = [
        dataDir,
        { path: 'data/hello.txt', type: 'file', content: 'from the image\n', mode: 0o640, uid: 1000, gid: 1000 },
        { path: 'data/sub', type: 'directory' },
        { path: 'data/sub/link', type: 'symlink', linkname: '../hello.txt' },
        { path: 'data/gone.txt', type: 'file', content: 'deleted by the next layer\n' },
        { path: 'escape', type: 'symlink', linkname: '../../../../../../etc' },
      ];
      const layers = [await busyboxLayer(), data, [dataDir, { path: 'data/gone.txt', type: 'whiteout' as const }]];
      const file = join(env.dataDir, `${uniqueName('copy-up')}.tar`);
      writeFileSync(file, await buildImageArchive({ format: 'oci', images: [{ references: [image], layers, config: { cmd: ['sh'], env: ['PATH=/bin'] } }] }));
      expect((await loadImageTar(admin, file)).status).toBe('succeeded');
    });

    it('fills a new volume with what the image holds at the target, and never writes into it again once it has data', async () => {
      const name = uniqueName('seeded');
      const mounts: Mounts = [{ type: 'volume', source: name, target: '/data' }];
      const first = await sh(
        admin,
        "cd /data && find . | sort && stat -c '%u:%g %a %n' . hello.txt && readlink sub/link && cat sub/link && echo changed > hello.txt && rm sub/link",
        mounts,
        image,
      );
      expect(first).toMatchObject({
        exitCode: 0,
        logs: '.\n./hello.txt\n./sub\n./sub/link\n1000:1000 750 .\n1000:1000 640 hello.txt\n../hello.txt\nfrom the image\n',
      });

      // The volume has data now: a second container of the same image gets it as the first left it.
      const second = await sh(admin, 'cd /data && find . | sort && cat hello.txt', mounts, image);
      expect(second).toMatchObject({ exitCode: 0, logs: '.\n./hello.txt\n./sub\nchanged\n' });
    });

    it('leaves a new volume empty with noCopy', async () => {
      const name = uniqueName('empty');
      const res = await sh(admin, "find /data && stat -c '%u:%g %a' /data", [{ type: 'volume', source: name, target: '/data', noCopy: true }], image);
      expect(res).toMatchObject({ exitCode: 0, logs: '/data\n0:0 755\n' });
      expect((await getVolume({ client: admin, path: { id: name } })).data.sizeBytes).toBe(0);
    });

    it('resolves a symlink at the target inside the image, never on the host', async () => {
      const name = uniqueName('escape');
      const res = await sh(admin, 'ls /etc', [{ type: 'volume', source: name, target: '/escape' }], image);
      expect(res).toMatchObject({ exitCode: 0, logs: 'group\npasswd\n' });
      const { mountpoint } = (await getVolume({ client: admin, path: { id: name } })).data;
      expect(readdirSync(mountpoint!).sort()).toEqual(['group', 'passwd']);
      expect(readFileSync(join(mountpoint!, 'passwd'), 'utf8')).toContain('berth:x:1000:1000');
    });

    it('documents noCopy, and refuses it on other mounts or when not a boolean, naming the field (400, nothing created)', async () => {
      const name = uniqueName('never');
      // The types forbid noCopy on a tmpfs mount; the server must refuse it too.
      const onTmpfsMounts = [
        { type: 'volume', source: name, target: '/v' },
        { type: 'tmpfs', target: '/t', noCopy: true },
      ] as unknown as Mounts;
      const onTmpfs = await createContainer({ client: admin, body: { image, mounts: onTmpfsMounts }, throwOnError: false });
      expect(onTmpfs.response.status).toBe(400);
      expect(onTmpfs.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect((onTmpfs.error as BerthProblem).errors).toEqual([{ field: 'mounts[1].noCopy', message: 'is for volume mounts only' }]);
      const notBooleanMounts = [{ type: 'volume', source: name, target: '/v', noCopy: 'yes' }] as unknown as Mounts;
      const notBoolean = await problemOf(createContainer({ client: admin, body: { image, mounts: notBooleanMounts } }));
      expect(notBoolean.status).toBe(400);
      expect(notBoolean.errors).toEqual([{ field: 'mounts.0.noCopy', message: expect.stringContaining('boolean') }]);
      expect((await problemOf(getVolume({ client: admin, path: { id: name } }))).status).toBe(404);

      // The document's schema for a volume mount (MountDto before the schemas were named for what they are).
      const { schemas } = (await getOpenApiDocument({ client: admin })).data.components as { schemas: Record<string, { properties: Record<string, unknown> }> };
      expect(schemas.VolumeMount.properties.noCopy).toMatchObject({ type: 'boolean', default: false, description: expect.stringContaining('nocopy') });
    });
  });
});

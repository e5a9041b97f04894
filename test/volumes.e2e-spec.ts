import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TeamClient, admin, env, uniqueName } from './support/api-client';

/** Runs a busybox shell command to its end; answers its exit code and output. */
async function sh(client: TeamClient, script: string, mounts: object[]) {
  const id = await client.run({ image: 'busybox', cmd: ['sh', '-c', script], mounts });
  const waited = await client.waitContainer(id, 'exited');
  const logs = (await client.logs(id)).text;
  return { id, exitCode: waited.exitCode, logs };
}

describe('volumes and mounts', () => {
  beforeAll(async () => {
    expect((await admin.loadImage(env.busyboxOciTar)).status).toBe('succeeded');
  });

  it('keeps a volume’s data after the container that wrote it is deleted, and shows where it lives and who uses it', async () => {
    const name = uniqueName('vol');
    const created = await admin.post('/v1/volumes', { name, labels: { app: 'db' } }).expect(201);
    expect(created.body).toMatchObject({ id: expect.stringMatching(/^vol_/), name, driver: 'local', labels: { app: 'db' }, usedBy: [] });

    const writer = await sh(admin, 'echo kept > /data/file && echo written', [{ type: 'volume', source: name, target: '/data' }]);
    expect(writer).toMatchObject({ exitCode: 0, logs: 'written\n' });
    const inUse = (await admin.get(`/v1/volumes/${name}`).expect(200)).body;
    expect(inUse.usedBy).toEqual([{ id: writer.id, name: expect.any(String) }]);
    expect(inUse.sizeBytes).toBe(5);
    expect(existsSync(join(inUse.mountpoint, 'file'))).toBe(true);
    await admin.delete(`/v1/volumes/${name}`).expect(409);

    await admin.delete(`/v1/containers/${writer.id}`).expect(202);
    await admin.waitContainer(writer.id, 'removed');
    const reader = await sh(admin, 'cat /data/file', [{ type: 'volume', source: name, target: '/data', readOnly: true }]);
    expect(reader).toMatchObject({ exitCode: 0, logs: 'kept\n' });
    await admin.delete(`/v1/containers/${reader.id}`).expect(202);
    await admin.waitContainer(reader.id, 'removed');

    const removed = (await admin.delete(`/v1/volumes/${name}`).expect(200)).body;
    expect(removed.deleted).toEqual([name]);
    expect((await admin.waitOperation(removed.operations[0].id)).status).toBe('succeeded');
    expect(existsSync(inUse.mountpoint)).toBe(false);
    await admin.get(`/v1/volumes/${name}`).expect(404);
  });

  it('makes a named volume that does not exist yet, and a read-only mount refuses writes', async () => {
    const name = uniqueName('auto');
    const first = await sh(admin, 'echo hi > /v/x; echo $?', [{ type: 'volume', source: name, target: '/v' }]);
    expect(first.logs).toBe('0\n');
    expect((await admin.get(`/v1/volumes/${name}`).expect(200)).body.name).toBe(name);
    const ro = await sh(admin, 'cat /v/x; echo no > /v/y', [{ type: 'volume', source: name, target: '/v', readOnly: true }]);
    expect(ro.exitCode).not.toBe(0);
    expect(ro.logs).toContain('hi\n');
    expect(ro.logs).toMatch(/Read-only file system/);
  });

  it('gives tmpfs mounts their size limit', async () => {
    const res = await sh(admin, 'dd if=/dev/zero of=/scratch/f bs=1024 count=2048 2>/dev/null; echo $?; wc -c < /scratch/f', [{ type: 'tmpfs', target: '/scratch', tmpfsSizeBytes: 1024 * 1024 }]);
    const [code, size] = res.logs.trim().split('\n');
    expect(code).not.toBe('0');
    expect(Number(size)).toBeLessThanOrEqual(1024 * 1024);
  });

  it('refuses bind mounts outside the team’s allowlist (403, nothing created), and allows them under it', async () => {
    const team = await admin.post('/v1/teams', { name: uniqueName('binds').toLowerCase() }).expect(201);
    const client = new TeamClient(team.body.token);
    expect((await client.loadImage(env.busyboxOciTar)).status).toBe('succeeded');
    const allowed = mkdtempSync(join(env.dataDir, 'allowed-'));
    writeFileSync(join(allowed, 'hello.txt'), 'from the host\n');
    mkdirSync(join(allowed, 'sub'));
    symlinkSync('/etc', join(allowed, 'sub', 'escape'));

    const volume = uniqueName('never');
    const refused = await client.post('/v1/containers', { image: 'busybox', mounts: [{ type: 'volume', source: volume, target: '/v' }, { type: 'bind', source: '/etc', target: '/host-etc' }] }).expect(403);
    expect(refused.body).toMatchObject({ reason: 'BindNotAllowed' });
    expect((await client.get('/v1/containers').expect(200)).body.items).toEqual([]);
    expect((await client.get('/v1/volumes').expect(200)).body.items).toEqual([]);

    await admin.put(`/v1/teams/${team.body.team.id}/policy`, { allowPrivileged: false, allowedCapabilities: [], allowedBindPaths: [allowed] }).expect(200);
    const read = await sh(client, 'cat /host/hello.txt', [{ type: 'bind', source: allowed, target: '/host', readOnly: true }]);
    expect(read).toMatchObject({ exitCode: 0, logs: 'from the host\n' });

    // A symlink under the allowed directory that leads out of it is caught on the host.
    const escape = await client.post('/v1/containers', { image: 'busybox', mounts: [{ type: 'bind', source: join(allowed, 'sub', 'escape'), target: '/x' }] }).expect(202);
    expect(await client.waitOperation(escape.body.operation.id)).toMatchObject({ status: 'failed', error: { reason: 'BindNotAllowed' } });

    const bad = await client.post('/v1/containers', { image: 'busybox', mounts: [{ type: 'bind', source: allowed, target: 'relative' }] }).expect(400);
    expect(bad.body.errors[0].field).toBe('mounts[0].target');
  });

  it('prunes the volumes no container mounts', async () => {
    const used = uniqueName('used');
    const idle = uniqueName('idle');
    await admin.post('/v1/volumes', { name: idle }).expect(201);
    const id = await admin.run({ image: 'busybox', cmd: ['sleep', '1000'], mounts: [{ type: 'volume', source: used, target: '/d' }] });
    const pruned = (await admin.post('/v1/volumes/prune').expect(200)).body;
    expect(pruned.deleted).toContain(idle);
    expect(pruned.deleted).not.toContain(used);
    await admin.get(`/v1/volumes/${used}`).expect(200);
    await admin.delete(`/v1/containers/${id}?force=true`).expect(202);
  });
});

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { buildImageArchive, busyboxLayer, readTarFiles, startRegistry } from '@berth/runtime/testing';
import { admin, api, env, uniqueName } from './support/api-client';

type Registry = Awaited<ReturnType<typeof startRegistry>>;
const USER = { username: 'deploy', password: `pw-${process.pid}-secret-value` };
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An image of two layers over busybox: a file, then a layer that deletes one (a whiteout). */
async function appArchive(reference: string, message: string): Promise<string> {
  const file = join(env.dataDir, `${uniqueName('app')}.tar`);
  const layers = [
    await busyboxLayer(),
    [
      { path: 'app', type: 'directory' as const },
      { path: 'app/hello.txt', type: 'file' as const, content: `${message}\n` },
      { path: 'app/old.txt', type: 'file' as const, content: 'soon gone\n' },
    ],
    [{ path: 'app/.wh.old.txt', type: 'file' as const, content: '' }],
  ];
  const config = { cmd: ['cat', '/app/hello.txt'], env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], labels: { 'org.example.app': message } };
  writeFileSync(file, await buildImageArchive({ format: 'oci', images: [{ references: [reference], layers, config }] }));
  return file;
}

async function waitOk(id: string) {
  const op = await admin.waitOperation(id, 120);
  if (op.status !== 'succeeded') throw new Error(`operation ${id} ${op.status}: ${JSON.stringify(op.error)}`);
  return op;
}

/** Deletes the team's image and waits for the host to drop it from its store. */
async function forget(ref: string) {
  await sleep(600); // past the worker's removal grace (500 ms in these tests)
  const res = await admin.delete(`/v1/images/${encodeURIComponent(ref)}?force=true`).expect(200);
  for (const op of res.body.operations) await waitOk(op.id);
  return res.body;
}

async function gunzip(b: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of Readable.from([b]).pipe(createGunzip())) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('images from registries', () => {
  let secured: Registry;
  let open: Registry;

  beforeAll(async () => {
    [secured, open] = await Promise.all([startRegistry({ auth: USER }), startRegistry()]);
  });
  afterAll(async () => {
    await Promise.all([secured?.stop(), open?.stop()]);
    await admin.delete(`/v1/registries/${encodeURIComponent(secured.host)}`);
  });

  it('keeps registry logins sealed: never answered, not readable in the database', async () => {
    const server = `${uniqueName('reg')}.example:5000`;
    const created = await admin.post('/v1/registries', { server: `https://${server}/v2/`, username: 'ci', password: USER.password }).expect(201);
    expect(created.body).toEqual({ id: expect.stringMatching(/^reg_/), server, username: 'ci', createdAt: expect.any(String), updatedAt: expect.any(String) });
    const replaced = await admin.post('/v1/registries', { server, username: 'ci2', token: `${USER.password}-token` }).expect(200);
    expect(replaced.body).toMatchObject({ id: created.body.id, username: 'ci2' });
    const listed = (await admin.get('/v1/registries').expect(200)).text;
    expect(listed).toContain(server);
    expect(listed).not.toContain(USER.password);
    for (const file of ['berth.sqlite', 'berth.sqlite-wal']) {
      const path = join(env.dataDir, file);
      if (existsSync(path)) expect(readFileSync(path).includes(USER.password)).toBe(false);
    }
    const bad = await admin.post('/v1/registries', { server: 'not a host', username: 'x', password: 'y' }).expect(400);
    expect(bad.body.errors[0].field).toBe('server');
    const both = await admin.post('/v1/registries', { server, username: 'x', password: 'y', token: 'z' }).expect(400);
    expect(both.body.reason).toBe('InvalidCredentials');
    await admin.delete(`/v1/registries/${created.body.id}`).expect(204);
    await admin.get(`/v1/registries/${created.body.id}`).expect(404);
  });

  it('pushes to a registry with basic auth, pulls it back byte for byte, and runs it', async () => {
    const ref = `${secured.host}/team/app:1.0`;
    expect((await admin.loadImage(await appArchive(ref, 'hello from the registry'))).status).toBe('succeeded');
    const local = (await admin.get(`/v1/images/${encodeURIComponent(ref)}`).expect(200)).body;

    const refused = await admin.waitOperation((await admin.post(`/v1/images/${encodeURIComponent(ref)}/push`, {}).expect(202)).body.operation.id);
    expect(refused).toMatchObject({ status: 'failed', error: { class: 'PermissionDenied', reason: 'RegistryUnauthorized' } });

    await admin.post('/v1/registries', { server: secured.host, ...USER }).expect(201);
    const pushed = await waitOk((await admin.post(`/v1/images/${encodeURIComponent(ref)}/push`, {}).expect(202)).body.operation.id);
    expect(pushed.result).toMatchObject({ digest: local.digest, uploaded: 4 }); // config and three layers

    const auth = `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}`;
    const manifest = await fetch(`http://${secured.host}/v2/team/app/manifests/1.0`, {
      headers: { Authorization: auth, Accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(manifest.status).toBe(200);
    expect(sha256(Buffer.from(await manifest.arrayBuffer()))).toBe(local.digest);

    const gone = await forget(ref);
    expect(gone.deleted).toEqual([local.digest]);
    expect(gone.operations).toHaveLength(1);
    await admin.get(`/v1/images/${encodeURIComponent(ref)}`).expect(404);

    const pull = await admin.post('/v1/images/pull', { reference: ref }).expect(202);
    const pulled = await waitOk(pull.body.operation.id);
    const op = (await admin.get(`/v1/operations/${pull.body.operation.id}`).expect(200)).body;
    expect(op.progress).toMatchObject({ layersDone: 3, layersTotal: 3 });
    expect(op.progress.bytesDone).toBe(op.progress.bytesTotal);
    expect((pulled.result as { images: { digest: string }[] }).images[0].digest).toBe(local.digest);

    const image = (await admin.get(`/v1/images/${encodeURIComponent(ref)}`).expect(200)).body;
    expect(image).toMatchObject({
      digest: local.digest,
      configDigest: local.configDigest,
      hosts: [{ name: env.hostName }],
      config: { cmd: ['cat', '/app/hello.txt'], labels: { 'org.example.app': 'hello from the registry' } },
    });
    const history = (await admin.get(`/v1/images/${encodeURIComponent(ref)}/history`).expect(200)).body.items;
    expect(history.length).toBeGreaterThanOrEqual(1);

    const id = await admin.run({ image: ref, pullPolicy: 'never', cmd: ['sh', '-c', 'cat /app/hello.txt; ls /app'] });
    await admin.waitContainer(id, 'exited');
    expect((await admin.logs(id)).text).toBe('hello from the registry\nhello.txt\n');
    await admin.delete(`/v1/containers/${id}?force=true`).expect(202);
  });

  it('pulls a missing image when a container is created, and not when pullPolicy is never', async () => {
    const ref = `${open.host}/team/tool:2.0`;
    expect((await admin.loadImage(await appArchive(ref, 'pulled on create'))).status).toBe('succeeded');
    await waitOk((await admin.post(`/v1/images/${encodeURIComponent(ref)}/push`, {}).expect(202)).body.operation.id);
    await forget(ref);

    const never = await admin.post('/v1/containers', { image: ref, pullPolicy: 'never' }).expect(202);
    expect(await admin.waitOperation(never.body.operation.id)).toMatchObject({ status: 'failed', error: { reason: 'ImageNotFound' } });

    const id = await admin.run({ image: ref });
    await admin.waitContainer(id, 'exited');
    expect((await admin.logs(id)).text).toBe('pulled on create\n');
    const c = (await admin.get(`/v1/containers/${id}`).expect(200)).body;
    const image = (await admin.get(`/v1/images/${encodeURIComponent(ref)}`).expect(200)).body;
    expect(c).toMatchObject({ pullPolicy: 'missing', imageDigest: image.digest });
    await admin.delete(`/v1/containers/${id}?force=true`).expect(202);
  });

  it('tags, untags, refuses to delete an image in use, and prunes what nothing uses', async () => {
    const ref = `${open.host}/team/tags:1`;
    expect((await admin.loadImage(await appArchive(ref, 'tags'))).status).toBe('succeeded');
    const tagged = (await admin.post(`/v1/images/${encodeURIComponent(ref)}/tag`, { reference: 'team/tags:stable' }).expect(200)).body;
    expect(tagged.references).toEqual(expect.arrayContaining([`${open.host}/team/tags:1`, 'docker.io/team/tags:stable']));
    expect(tagged.tags).toContain('team/tags:stable');
    await admin.post(`/v1/images/${encodeURIComponent(ref)}/tag`, { reference: 'bad ref' }).expect(400);

    const untag = (await admin.delete(`/v1/images/${encodeURIComponent('team/tags:stable')}`).expect(200)).body;
    expect(untag).toEqual({ untagged: ['docker.io/team/tags:stable'], deleted: [], operations: [] });

    const id = await admin.run({ image: ref, pullPolicy: 'never', cmd: ['sleep', '1000'] });
    const inUse = await admin.delete(`/v1/images/${encodeURIComponent(ref)}`).expect(409);
    expect(inUse.body.reason).toBe('ImageInUse');
    expect(inUse.headers['content-type']).toContain('application/problem+json');
    await admin.get(`/v1/images/${encodeURIComponent(ref)}`).expect(200);

    // Forced: the team's record goes, the host keeps what the container runs on.
    const forced = await forget(ref);
    const cleanup = await admin.waitOperation(forced.operations[0].id);
    expect(cleanup.result).toMatchObject({ removed: [], kept: [tagged.digest] });
    await admin.delete(`/v1/containers/${id}?force=true`).expect(202);
    await admin.waitContainer(id, 'removed');

    // Now nothing uses it: a prune collects its blobs and layers.
    const pruned = (await admin.post('/v1/images/prune', {}).expect(200)).body;
    const results = await Promise.all(pruned.operations.map((o: { id: string }) => waitOk(o.id)));
    const removed = results.flatMap((r) => (r.result as { removed: string[] }).removed);
    expect(removed).toContain(tagged.digest);
    expect(results.reduce((n, r) => n + ((r.result as { bytesFreed: number }).bytesFreed ?? 0), 0)).toBeGreaterThan(0);
  });

  it('exports a tar that docker load and OCI tools accept', async () => {
    const ref = `${open.host}/team/export:1`;
    expect((await admin.loadImage(await appArchive(ref, 'exported'))).status).toBe('succeeded');
    const image = (await admin.get(`/v1/images/${encodeURIComponent(ref)}`).expect(200)).body;
    const res = await admin
      .get(`/v1/images/${encodeURIComponent(ref)}/export`)
      .buffer(true)
      .parse((r, cb) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => cb(null, Buffer.concat(chunks)));
      })
      .expect(200);
    expect(res.headers['content-type']).toContain('application/x-tar');
    const members = await readTarFiles(res.body as Buffer);
    expect(JSON.parse(members.get('oci-layout')!.toString())).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(members.get('index.json')!.toString());
    expect(index.manifests[0]).toMatchObject({
      digest: image.digest,
      annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': '1' },
    });
    for (const [name, bytes] of members) if (name.startsWith('blobs/sha256/')) expect(sha256(bytes)).toBe(`sha256:${name.slice('blobs/sha256/'.length)}`);

    const [entry] = JSON.parse(members.get('manifest.json')!.toString());
    expect(entry.RepoTags).toEqual([`${open.host}/team/export:1`]);
    const config = JSON.parse(members.get(entry.Config)!.toString());
    expect(`sha256:${entry.Config.split('/').pop()}`).toBe(image.configDigest);
    expect(entry.Layers).toHaveLength(3);
    const diffIds = await Promise.all(entry.Layers.map(async (l: string) => sha256(await gunzip(members.get(l)!))));
    expect(diffIds).toEqual(config.rootfs.diff_ids);
  });

  it('refuses a tampered blob, keeping nothing of the pull', async () => {
    const ref = `${open.host}/team/tampered:1`;
    expect((await admin.loadImage(await appArchive(ref, 'tampered'))).status).toBe('succeeded');
    const image = (await admin.get(`/v1/images/${encodeURIComponent(ref)}`).expect(200)).body;
    await waitOk((await admin.post(`/v1/images/${encodeURIComponent(ref)}/push`, {}).expect(202)).body.operation.id);
    expect((await admin.waitOperation((await forget(ref)).operations[0].id)).result).toMatchObject({ removed: [image.digest] });

    const manifest = (await (
      await fetch(`http://${open.host}/v2/team/tampered/manifests/1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })
    ).json()) as { layers: { digest: string }[] };
    const top = manifest.layers[1].digest; // the layer only this image has (the others are shared with other tests' images)
    const blob = readFileSync(open.blobPath(top));
    blob[blob.length - 1] ^= 0xff;
    writeFileSync(open.blobPath(top), blob);

    const failed = await admin.waitOperation((await admin.post('/v1/images/pull', { reference: ref }).expect(202)).body.operation.id, 120);
    expect(failed).toMatchObject({ status: 'failed', error: { reason: 'DigestMismatch' } });
    await admin.get(`/v1/images/${encodeURIComponent(ref)}`).expect(404);
    await admin.get(`/v1/images/${image.digest}`).expect(404);
  });

  it('answers 400 naming the field for a malformed reference or platform', async () => {
    const ref = await admin.post('/v1/images/pull', { reference: 'UPPER/Case:tag' }).expect(400);
    expect(JSON.stringify(ref.body)).toContain('reference');
    const platform = await admin.post('/v1/images/pull', { reference: 'busybox', platform: 'linux' }).expect(400);
    expect(JSON.stringify(platform.body)).toContain('platform');
    await admin.post('/v1/images/pull', { reference: 'busybox', extra: 1 }).expect(400);
    await api().post('/v1/images/pull').send({ reference: 'busybox' }).expect(401);
  });
});

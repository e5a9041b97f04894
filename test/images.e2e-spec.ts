import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { buildImageArchive, busyboxLayer, readTarFiles, startRegistry } from '@berth/runtime/testing';
import {
  BerthProblem,
  createContainer,
  deleteContainer,
  deleteImage,
  deleteRegistry,
  exportImage,
  getContainer,
  getImage,
  getImageHistory,
  getOperation,
  getRegistry,
  listRegistries,
  pruneImages,
  pullImage,
  type PullImageRequest,
  pushImage,
  saveRegistry,
  tagImage,
} from '@berth/sdk';
import { api, env, uniqueName } from './support/api-client';
import { adminSdk, finished, loadImageTar, logText, problemOf, runContainer, waitForContainer } from './support/sdk';

type Registry = Awaited<ReturnType<typeof startRegistry>>;
const USER = { username: 'deploy', password: `pw-${process.pid}-secret-value` };
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const client = adminSdk();

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
  const op = await finished(client, id, 120);
  if (op.status !== 'succeeded') throw new Error(`operation ${id} ${op.status}: ${JSON.stringify(op.error)}`);
  return op;
}

/** Pushes the image to its registry (202) and answers the push operation's id. */
async function push(ref: string): Promise<string> {
  const pushed = await pushImage({ client, path: { ref }, body: {} });
  expect(pushed.response.status).toBe(202);
  return pushed.data.operation.id;
}

/** Pulls the image (202) and answers the pull operation's id. */
async function pull(ref: string): Promise<string> {
  const pulled = await pullImage({ client, body: { reference: ref } });
  expect(pulled.response.status).toBe(202);
  return pulled.data.operation.id;
}

/** Deletes a container, killing it first (202). */
async function removeContainer(id: string) {
  expect((await deleteContainer({ client, path: { id }, query: { force: true } })).response.status).toBe(202);
}

/** Deletes the team's image and waits for the host to drop it from its store. */
async function forget(ref: string) {
  await sleep(600); // past the worker's removal grace (500 ms in these tests)
  const res = await deleteImage({ client, path: { ref }, query: { force: true } });
  expect(res.response.status).toBe(200);
  for (const op of res.data.operations) await waitOk(op.id);
  return res.data;
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
    // Best effort, as before: an error answer (the login may be gone) does not fail the suite.
    await deleteRegistry({ client, path: { id: secured.host } }).catch((e: unknown) => {
      if (!(e instanceof BerthProblem)) throw e;
    });
  });

  it('keeps registry logins sealed: never answered, not readable in the database', async () => {
    const server = `${uniqueName('reg')}.example:5000`;
    const created = await saveRegistry({ client, body: { server: `https://${server}/v2/`, username: 'ci', password: USER.password } });
    expect(created.response.status).toBe(201);
    expect(created.data).toEqual({ id: expect.stringMatching(/^reg_/), server, username: 'ci', createdAt: expect.any(String), updatedAt: expect.any(String) });
    const replaced = await saveRegistry({ client, body: { server, username: 'ci2', token: `${USER.password}-token` } });
    expect(replaced.response.status).toBe(200);
    expect(replaced.data).toMatchObject({ id: created.data.id, username: 'ci2' });
    const listed = JSON.stringify((await listRegistries({ client })).data);
    expect(listed).toContain(server);
    expect(listed).not.toContain(USER.password);
    for (const file of ['berth.sqlite', 'berth.sqlite-wal']) {
      const path = join(env.dataDir, file);
      if (existsSync(path)) expect(readFileSync(path).includes(USER.password)).toBe(false);
    }
    const bad = await problemOf(saveRegistry({ client, body: { server: 'not a host', username: 'x', password: 'y' } }));
    expect(bad.status).toBe(400);
    expect(bad.errors[0].field).toBe('server');
    const both = await problemOf(saveRegistry({ client, body: { server, username: 'x', password: 'y', token: 'z' } }));
    expect(both.status).toBe(400);
    expect(both.reason).toBe('InvalidCredentials');
    expect((await deleteRegistry({ client, path: { id: created.data.id } })).response.status).toBe(204);
    expect((await problemOf(getRegistry({ client, path: { id: created.data.id } }))).status).toBe(404);
  });

  it('pushes to a registry with basic auth, pulls it back byte for byte, and runs it', async () => {
    const ref = `${secured.host}/team/app:1.0`;
    expect((await loadImageTar(client, await appArchive(ref, 'hello from the registry'))).status).toBe('succeeded');
    const local = (await getImage({ client, path: { ref } })).data;

    const refused = await finished(client, await push(ref));
    expect(refused).toMatchObject({ status: 'failed', error: { class: 'PermissionDenied', reason: 'RegistryUnauthorized' } });

    expect((await saveRegistry({ client, body: { server: secured.host, ...USER } })).response.status).toBe(201);
    const pushed = await waitOk(await push(ref));
    expect(pushed.result).toMatchObject({ digest: local.digest, uploaded: 4 }); // config and three layers

    // Raw: this asks the registry itself, not Berth's API.
    const auth = `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}`;
    const manifest = await fetch(`http://${secured.host}/v2/team/app/manifests/1.0`, {
      headers: { Authorization: auth, Accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(manifest.status).toBe(200);
    expect(sha256(Buffer.from(await manifest.arrayBuffer()))).toBe(local.digest);

    const gone = await forget(ref);
    expect(gone.deleted).toEqual([local.digest]);
    expect(gone.operations).toHaveLength(1);
    expect((await problemOf(getImage({ client, path: { ref } }))).status).toBe(404);

    const pullId = await pull(ref);
    const pulled = await waitOk(pullId);
    const op = (await getOperation({ client, path: { id: pullId } })).data;
    expect(op.progress).toMatchObject({ layersDone: 3, layersTotal: 3 });
    expect(op.progress?.bytesDone).toBe(op.progress?.bytesTotal);
    expect((pulled.result as { images: { digest: string }[] }).images[0].digest).toBe(local.digest);

    const image = (await getImage({ client, path: { ref } })).data;
    expect(image).toMatchObject({
      digest: local.digest,
      configDigest: local.configDigest,
      hosts: [{ name: env.hostName }],
      config: { cmd: ['cat', '/app/hello.txt'], labels: { 'org.example.app': 'hello from the registry' } },
    });
    const history = (await getImageHistory({ client, path: { ref } })).data.items;
    expect(history.length).toBeGreaterThanOrEqual(1);

    const { id } = await runContainer(client, { image: ref, pullPolicy: 'never', cmd: ['sh', '-c', 'cat /app/hello.txt; ls /app'] });
    await waitForContainer(client, id, 'exited');
    expect(await logText(client, id)).toBe('hello from the registry\nhello.txt\n');
    await removeContainer(id);
  });

  it('pulls a missing image when a container is created, and not when pullPolicy is never', async () => {
    const ref = `${open.host}/team/tool:2.0`;
    expect((await loadImageTar(client, await appArchive(ref, 'pulled on create'))).status).toBe('succeeded');
    await waitOk(await push(ref));
    await forget(ref);

    const never = await createContainer({ client, body: { image: ref, pullPolicy: 'never' } });
    expect(never.response.status).toBe(202);
    expect(await finished(client, never.data.operation.id)).toMatchObject({ status: 'failed', error: { reason: 'ImageNotFound' } });

    const { id } = await runContainer(client, { image: ref });
    await waitForContainer(client, id, 'exited');
    expect(await logText(client, id)).toBe('pulled on create\n');
    const c = (await getContainer({ client, path: { id } })).data;
    const image = (await getImage({ client, path: { ref } })).data;
    expect(c).toMatchObject({ pullPolicy: 'missing', imageDigest: image.digest });
    await removeContainer(id);
  });

  it('tags, untags, refuses to delete an image in use, and prunes what nothing uses', async () => {
    const ref = `${open.host}/team/tags:1`;
    expect((await loadImageTar(client, await appArchive(ref, 'tags'))).status).toBe('succeeded');
    const tagged = (await tagImage({ client, path: { ref }, body: { reference: 'team/tags:stable' } })).data;
    expect(tagged.references).toEqual(expect.arrayContaining([`${open.host}/team/tags:1`, 'docker.io/team/tags:stable']));
    expect(tagged.tags).toContain('team/tags:stable');
    expect((await problemOf(tagImage({ client, path: { ref }, body: { reference: 'bad ref' } }))).status).toBe(400);

    const untag = (await deleteImage({ client, path: { ref: 'team/tags:stable' } })).data;
    expect(untag).toEqual({ untagged: ['docker.io/team/tags:stable'], deleted: [], operations: [] });

    const { id } = await runContainer(client, { image: ref, pullPolicy: 'never', cmd: ['sleep', '1000'] });
    const inUse = await deleteImage({ client, path: { ref }, throwOnError: false });
    expect(inUse.response.status).toBe(409);
    expect((inUse.error as BerthProblem).reason).toBe('ImageInUse');
    expect(inUse.response.headers.get('content-type')).toContain('application/problem+json');
    expect((await getImage({ client, path: { ref } })).response.status).toBe(200);

    // Forced: the team's record goes, the host keeps what the container runs on.
    const forced = await forget(ref);
    const cleanup = await finished(client, forced.operations[0].id);
    expect(cleanup.result).toMatchObject({ removed: [], kept: [tagged.digest] });
    await removeContainer(id);
    await waitForContainer(client, id, 'removed');

    // Now nothing uses it: a prune collects its blobs and layers.
    const pruned = (await pruneImages({ client, body: {} })).data;
    const results = await Promise.all(pruned.operations.map((o) => waitOk(o.id)));
    const removed = results.flatMap((r) => (r.result as { removed: string[] }).removed);
    expect(removed).toContain(tagged.digest);
    expect(results.reduce((n, r) => n + ((r.result as { bytesFreed: number }).bytesFreed ?? 0), 0)).toBeGreaterThan(0);
  });

  it('exports a tar that docker load and OCI tools accept', async () => {
    const ref = `${open.host}/team/export:1`;
    expect((await loadImageTar(client, await appArchive(ref, 'exported'))).status).toBe('succeeded');
    const image = (await getImage({ client, path: { ref } })).data;
    const res = await exportImage({ client, path: { ref }, parseAs: 'arrayBuffer' });
    expect(res.response.status).toBe(200);
    expect(res.response.headers.get('content-type')).toContain('application/x-tar');
    const members = await readTarFiles(Buffer.from(res.data as unknown as ArrayBuffer));
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
    expect((await loadImageTar(client, await appArchive(ref, 'tampered'))).status).toBe('succeeded');
    const image = (await getImage({ client, path: { ref } })).data;
    await waitOk(await push(ref));
    expect((await finished(client, (await forget(ref)).operations[0].id)).result).toMatchObject({ removed: [image.digest] });

    // Raw: this reads and then damages the registry's own store, not Berth's API.
    const manifest = (await (
      await fetch(`http://${open.host}/v2/team/tampered/manifests/1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })
    ).json()) as { layers: { digest: string }[] };
    const top = manifest.layers[1].digest; // the layer only this image has (the others are shared with other tests' images)
    const blob = readFileSync(open.blobPath(top));
    blob[blob.length - 1] ^= 0xff;
    writeFileSync(open.blobPath(top), blob);

    const failed = await finished(client, await pull(ref), 120);
    expect(failed).toMatchObject({ status: 'failed', error: { reason: 'DigestMismatch' } });
    expect((await problemOf(getImage({ client, path: { ref } }))).status).toBe(404);
    expect((await problemOf(getImage({ client, path: { ref: image.digest } }))).status).toBe(404);
  });

  it('answers 400 naming the field for a malformed reference or platform', async () => {
    const ref = await problemOf(pullImage({ client, body: { reference: 'UPPER/Case:tag' } }));
    expect(ref.status).toBe(400);
    expect(JSON.stringify(ref.problem)).toContain('reference');
    const platform = await problemOf(pullImage({ client, body: { reference: 'busybox', platform: 'linux' } }));
    expect(platform.status).toBe(400);
    expect(JSON.stringify(platform.problem)).toContain('platform');
    const extra = { reference: 'busybox', extra: 1 } as unknown as PullImageRequest;
    expect((await problemOf(pullImage({ client, body: extra }))).status).toBe(400);
    // Raw: no Authorization header at all, which is the point of the 401.
    await api().post('/v1/images/pull').send({ reference: 'busybox' }).expect(401);
  });
});

import { PermissionDeniedError } from '@berth/domain';
import { sha256Digest } from '../digests';
import { MediaType } from '../media-types';
import { RegistryClient } from './registry-client';
import { parseWwwAuthenticate } from './www-authenticate';

interface Call {
  url: string;
  method: string;
  authorization?: string;
}

/** A fake registry: routes by method and path, records every request. */
function fakeFetch(routes: (call: Call) => Response) {
  const calls: Call[] = [];
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    const call: Call = { url: String(input), method: init?.method ?? 'GET', authorization: headers.get('authorization') ?? undefined };
    calls.push(call);
    return routes(call);
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

const json = (body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json', ...headers } });
const challenge = (value: string) =>
  new Response('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}', { status: 401, headers: { 'WWW-Authenticate': value } });

const manifestBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: {}, layers: [] }));
const manifestDigest = sha256Digest(manifestBytes);
const repo = { registry: 'registry.example.com', repository: 'team/app' };

describe('RegistryClient', () => {
  it('speaks plain HTTP only to loopback and listed registries', () => {
    const client = new RegistryClient({ insecureRegistries: ['build.lan:5000', 'mirror.lan'] });

    expect(client.baseUrl('127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    expect(client.baseUrl('localhost')).toBe('http://localhost');
    expect(client.baseUrl('[::1]:5000')).toBe('http://[::1]:5000');
    expect(client.baseUrl('build.lan:5000')).toBe('http://build.lan:5000');
    expect(client.baseUrl('mirror.lan:443')).toBe('http://mirror.lan:443');
    expect(client.baseUrl('build.lan:6000')).toBe('https://build.lan:6000');
    expect(client.baseUrl('registry.example.com')).toBe('https://registry.example.com');
    expect(client.baseUrl('docker.io')).toBe('https://registry-1.docker.io');
  });

  it('answers a Bearer challenge with a token for the repository scope, and reuses it', async () => {
    let tokens = 0;
    const { fetch, calls } = fakeFetch((call) => {
      const url = new URL(call.url);
      if (url.host === 'auth.example.com') return json({ token: `t${++tokens}`, expires_in: 300 });
      if (call.authorization !== 'Bearer t1') return challenge('Bearer realm="https://auth.example.com/token",service="registry.example.com"');
      return new Response(manifestBytes, { headers: { 'Content-Type': MediaType.OciManifest, 'Docker-Content-Digest': manifestDigest } });
    });
    const client = new RegistryClient({ fetch, credentials: async () => ({ username: 'u', password: 'p' }) });

    const first = await client.getManifest(repo, 'latest');
    await client.getManifest(repo, manifestDigest);

    expect(first).toMatchObject({ digest: manifestDigest, mediaType: MediaType.OciManifest });
    const tokenRequest = new URL(calls[1].url);
    expect(tokenRequest.searchParams.get('service')).toBe('registry.example.com');
    expect(tokenRequest.searchParams.get('scope')).toBe('repository:team/app:pull');
    expect(calls[1].authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(calls.map((c) => c.authorization ?? '-')).toEqual(['-', calls[1].authorization, 'Bearer t1', 'Bearer t1']);
  });

  it('fetches a new token when the registry refuses the cached one', async () => {
    let tokens = 0;
    let accepted = 't1';
    const { fetch, calls } = fakeFetch((call) => {
      if (new URL(call.url).host === 'auth.example.com') return json({ token: `t${++tokens}`, expires_in: 300 });
      if (call.authorization !== `Bearer ${accepted}`) return challenge('Bearer realm="https://auth.example.com/token"');
      return new Response(manifestBytes);
    });
    const client = new RegistryClient({ fetch });
    await client.getManifest(repo, manifestDigest);
    accepted = 't2';

    await expect(client.getManifest(repo, manifestDigest)).resolves.toMatchObject({ digest: manifestDigest });
    expect(calls.slice(3).map((c) => c.authorization ?? new URL(c.url).host)).toEqual(['Bearer t1', 'auth.example.com', 'Bearer t2']);
  });

  it('does not send credentials to a token realm over plain HTTP', async () => {
    const { fetch, calls } = fakeFetch(() => challenge('Bearer realm="http://auth.example.com/token"'));
    const client = new RegistryClient({ fetch, credentials: async () => ({ username: 'u', password: 'p' }) });

    const pull = client.getManifest(repo, 'latest');

    await expect(pull).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(pull).rejects.toThrow(/not HTTPS/);
    expect(calls).toHaveLength(1);
  });

  it('reports a Basic challenge without credentials as RegistryUnauthorized', async () => {
    const { fetch } = fakeFetch(() => challenge('Basic realm="registry"'));

    await expect(new RegistryClient({ fetch }).getManifest(repo, 'latest')).rejects.toMatchObject({
      errorClass: 'PermissionDenied',
      reason: 'RegistryUnauthorized',
    });
  });

  it('rejects manifest bytes that do not match the digest asked for', async () => {
    const { fetch } = fakeFetch(() => new Response(Buffer.from('{"schemaVersion":2}')));

    await expect(new RegistryClient({ fetch }).getManifest(repo, manifestDigest)).rejects.toMatchObject({ reason: 'DigestMismatch' });
  });

  it('follows an index to the manifest for the platform', async () => {
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciIndex,
        manifests: [
          { mediaType: MediaType.OciManifest, digest: sha256Digest('other'), size: 5, platform: { os: 'linux', architecture: 'amd64' } },
          {
            mediaType: MediaType.OciManifest,
            digest: manifestDigest,
            size: manifestBytes.length,
            platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
          },
        ],
      }),
    );
    const { fetch, calls } = fakeFetch((call) => new Response(call.url.endsWith(manifestDigest) ? manifestBytes : index));
    const client = new RegistryClient({ fetch });

    const resolved = await client.resolveManifest({ ...repo, tag: '1' }, { os: 'linux', architecture: 'arm64' });

    expect(resolved.manifest.digest).toBe(manifestDigest);
    expect(resolved.index?.digest).toBe(sha256Digest(index));
    expect(calls.map((c) => c.url.split('/manifests/')[1])).toEqual(['1', manifestDigest]);
    await expect(client.resolveManifest({ ...repo, tag: '1' }, { os: 'windows', architecture: 'amd64' })).rejects.toMatchObject({
      errorClass: 'NotFound',
      reason: 'NoMatchingPlatform',
    });
  });
});

describe('parseWwwAuthenticate', () => {
  it('reads schemes and quoted parameters', () => {
    expect(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push"')).toEqual([
      { scheme: 'Bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:a/b:pull,push' } },
    ]);
    expect(parseWwwAuthenticate('Basic realm="a \\"quoted\\" realm", Bearer realm=x')).toEqual([
      { scheme: 'Basic', params: { realm: 'a "quoted" realm' } },
      { scheme: 'Bearer', params: { realm: 'x' } },
    ]);
    expect(parseWwwAuthenticate(undefined)).toEqual([]);
    expect(parseWwwAuthenticate('=,="')).toEqual([]);
  });
});

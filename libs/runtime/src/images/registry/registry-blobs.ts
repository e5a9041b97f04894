import { Readable } from 'stream';
import { NotFoundError } from '@berth/domain';
import type { RegistryEndpoints } from './registry-endpoints';
import { RegistryErrorReason, registryProtocolError } from './registry-errors';
import type { RegistryClientOptions } from './registry-options';
import type { RegistryTransport } from './registry-transport';
import type { RepositoryRef } from './repository-ref';
import { discardBody } from './response-body';

const DEFAULT_BLOB_TIMEOUT_MS = 30 * 60_000;

/** Blobs of a registry's repositories: downloaded as streams, looked for, uploaded. */
export class RegistryBlobs {
  constructor(
    private readonly transport: RegistryTransport,
    private readonly endpoints: RegistryEndpoints,
    private readonly options: RegistryClientOptions,
  ) {}

  /** Starts a blob download; the caller streams and verifies the body. */
  async get(repo: RepositoryRef, digest: string): Promise<Readable> {
    const response = await this.transport.request(
      repo,
      {
        method: 'GET',
        url: `/v2/${repo.repository}/blobs/${digest}`,
        timeoutMs: this.options.blobTimeoutMs ?? DEFAULT_BLOB_TIMEOUT_MS,
      },
      RegistryErrorReason.BlobUnknown,
    );
    if (!response.body) return Readable.from([]);
    return Readable.fromWeb(response.body as import('stream/web').ReadableStream<Uint8Array>);
  }

  async has(repo: RepositoryRef, digest: string, forPush = false): Promise<boolean> {
    try {
      await this.transport.request(repo, { method: 'HEAD', url: `/v2/${repo.repository}/blobs/${digest}`, push: forPush }, RegistryErrorReason.BlobUnknown);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  /** Uploads a blob monolithically: POST an upload session, then PUT the bytes with `?digest=`. */
  async upload(repo: RepositoryRef, digest: string, size: number, body: () => Buffer | Readable): Promise<void> {
    const started = await this.transport.request(
      repo,
      {
        method: 'POST',
        url: `/v2/${repo.repository}/blobs/uploads/`,
        headers: { 'Content-Length': '0' },
        push: true,
      },
      RegistryErrorReason.BlobUnknown,
    );
    await discardBody(started);
    const location = started.headers.get('location');
    if (!location) throw registryProtocolError(repo, 'the registry started an upload without a Location');
    const url = new URL(location, this.endpoints.baseUrl(repo.registry) + '/');
    url.searchParams.set('digest', digest);
    const done = await this.transport.request(
      repo,
      {
        method: 'PUT',
        url: url.toString(),
        headers: { 'Content-Type': 'application/octet-stream' },
        body,
        contentLength: size,
        push: true,
        timeoutMs: this.options.blobTimeoutMs ?? DEFAULT_BLOB_TIMEOUT_MS,
      },
      RegistryErrorReason.BlobUnknown,
    );
    await discardBody(done);
  }
}

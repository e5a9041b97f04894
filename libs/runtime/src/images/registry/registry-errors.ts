import { DomainError, InvalidArgumentError, NotFoundError, PermissionDeniedError, UnavailableError } from '@berth/domain';
import { isRecord } from '../media-types';
import type { RepositoryRef } from './repository-ref';
import { readLimited } from './response-body';

export const RegistryErrorReason = {
  RegistryUnauthorized: 'RegistryUnauthorized',
  ManifestUnknown: 'ManifestUnknown',
  BlobUnknown: 'BlobUnknown',
  RegistryUnavailable: 'RegistryUnavailable',
  RegistryError: 'RegistryError',
} as const;

/** Error bodies (and token answers) are read only this far. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

export function registryUnauthorized(repo: RepositoryRef, why: string): PermissionDeniedError {
  return new PermissionDeniedError(
    `registry ${repo.registry} denied access to repository ${repo.repository}: ${why}`,
    RegistryErrorReason.RegistryUnauthorized,
  );
}

/** The registry broke the protocol (an upload without a Location, say). */
export function registryProtocolError(repo: RepositoryRef, why: string): UnavailableError {
  return new UnavailableError(`registry ${repo.registry}, repository ${repo.repository}: ${why}`, RegistryErrorReason.RegistryUnavailable);
}

/** The domain error for a registry's answer that is neither success nor redirect. */
export async function registryFailure(repo: RepositoryRef, method: string, url: string, response: Response, notFoundReason: string): Promise<DomainError> {
  const detail = await errorDetail(response);
  const what = `${method} ${redact(url)}`;
  if (response.status === 401 || response.status === 403) {
    return registryUnauthorized(repo, `${what} answered ${response.status}${detail}`);
  }
  if (response.status === 404) {
    const kind = notFoundReason === RegistryErrorReason.ManifestUnknown ? 'manifest' : 'blob';
    return new NotFoundError(`registry ${repo.registry} has no such ${kind} in repository ${repo.repository} (${what})${detail}`, notFoundReason);
  }
  if (response.status === 429 || response.status >= 500) {
    return new UnavailableError(
      `registry ${repo.registry} answered ${response.status} for repository ${repo.repository} (${what})${detail}`,
      RegistryErrorReason.RegistryUnavailable,
    );
  }
  return new InvalidArgumentError(
    `registry ${repo.registry} answered ${response.status} for repository ${repo.repository} (${what})${detail}`,
    [],
    RegistryErrorReason.RegistryError,
  );
}

/** Upload locations carry state tokens in the query; keep them out of messages. */
export function redact(url: string): string {
  return url.split('?')[0];
}

/** The registry's error list (`{"errors":[{"code","message"}]}`), briefly. */
async function errorDetail(response: Response): Promise<string> {
  try {
    const text = (await readLimited(response, MAX_ERROR_BODY_BYTES, 'error body')).toString('utf8');
    const body = JSON.parse(text) as unknown;
    if (isRecord(body) && Array.isArray(body.errors)) {
      const parts = body.errors.filter(isRecord).map((e) => [e.code, e.message].filter((x) => typeof x === 'string').join(': '));
      if (parts.length) return `: ${parts.join('; ').slice(0, 500)}`;
    }
  } catch {
    // No body, or not JSON.
  }
  return '';
}

import type { ImageReference } from '@berth/domain';

/** Where a repository lives: `{ registry: '127.0.0.1:5000', repository: 'team/app' }`. */
export type RepositoryRef = Pick<ImageReference, 'registry' | 'repository'>;

export function repositoryName(repo: RepositoryRef): string {
  return `${repo.registry}/${repo.repository}`;
}

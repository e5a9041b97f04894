import { Injectable } from '@nestjs/common';
import { Container, parseLabelFilter } from '@berth/domain';
import { TeamScope } from '../common/auth-context';
import { decodeCursor, encodeCursor } from '../common/cursor';
import { ListContainersQueryDto } from './container-request.dto';
import { ContainersRepository } from './containers.repository';

export interface ContainerPage {
  items: Container[];
  nextCursor: string | null;
}

/** Reading a team's containers: the feature's face to the others (the commands are in the create, lifecycle and observation services). */
@Injectable()
export class ContainersService {
  constructor(private readonly containers: ContainersRepository) {}

  /** Newest first, `limit` at a time (50 by default), filtered by state and labels. */
  async list(scope: TeamScope, query: ListContainersQueryDto): Promise<ContainerPage> {
    const limit = query.limit ?? 50;
    const before = query.cursor ? decodeCursor(query.cursor) : undefined;
    const labels = (query.label ?? []).map(parseLabelFilter);
    const items = await this.containers.list(scope, { state: query.state, labels, before, limit });
    const page = items.slice(0, limit);
    return { items: page, nextCursor: items.length > limit ? encodeCursor(page[page.length - 1].id) : null };
  }

  /** By id or by name, within the caller's team only. */
  get(scope: TeamScope, idOrName: string): Promise<Container> {
    return this.containers.get(scope, idOrName);
  }
}

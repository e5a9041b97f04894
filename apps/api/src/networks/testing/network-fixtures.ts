import { DataSource } from 'typeorm';
import { Container, ContainerSpec, Host, Team, newId } from '@berth/domain';
import { ApiConfig } from '../../config';
import { Transactions } from '../../database/transactions';
import { strictMock } from '../../testing/strict-mock';
import { NetworkSyncs } from '../network-syncs.service';
import { NetworksRepository } from '../networks.repository';
import { NetworksService } from '../networks.service';

/** A container row of `team` on `host` (the networks feature reads its name and published ports). */
export async function seedContainer(db: DataSource, team: Team, host: Host, name: string, spec: Partial<ContainerSpec> = {}, status = 'running') {
  const now = new Date();
  const row = Object.assign(new Container(), {
    id: newId('container'),
    teamId: team.id,
    name,
    hostId: host.id,
    spec: { name, image: 'busybox', env: [], labels: {}, ...spec },
    desiredState: 'running' as const,
    generation: 1,
    status,
    exitCode: null,
    pid: null,
    oomKilled: false,
    restartCount: 0,
    health: null,
    error: null,
    reportSeq: 0,
    startedAt: null,
    finishedAt: null,
    createdAt: now,
    updatedAt: now,
  });
  await db.getRepository(Container).insert(row as Container);
  return row as Container;
}

export const TEST_POOL = '10.240.0.0/16';

export function networksService(tx: Transactions, syncs: NetworkSyncs = strictMock<NetworkSyncs>()) {
  return new NetworksService(new NetworksRepository(tx), tx, { networkPool: TEST_POOL } as ApiConfig, syncs);
}

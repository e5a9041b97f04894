import { ApiConfig } from '../../config';
import { Transactions } from '../../database/transactions';
import { strictMock } from '../../testing/strict-mock';
import { NetworkSyncs } from '../network-syncs.service';
import { NetworksRepository } from '../networks.repository';
import { NetworksService } from '../networks.service';

export const TEST_POOL = '10.240.0.0/16';

export function networksService(tx: Transactions, syncs: NetworkSyncs = strictMock<NetworkSyncs>()) {
  return new NetworksService(new NetworksRepository(tx), tx, { networkPool: TEST_POOL } as ApiConfig, syncs);
}

import { Injectable } from '@nestjs/common';
import { Transactions } from '../database/transactions';

/** The one query health asks: whether the database answers at all. */
@Injectable()
export class HealthRepository {
  static readonly systemQueries = [
    // A ping reads no team's rows.
    'ping',
  ] as const;

  constructor(private readonly tx: Transactions) {}

  async ping(): Promise<void> {
    await this.tx.manager.query('SELECT 1');
  }
}

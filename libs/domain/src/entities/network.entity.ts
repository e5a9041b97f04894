import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import { jsonColumn, timestampColumn } from './column-types';
import { Team } from './team.entity';

/** The first VXLAN network identifier networks get (lower ones are left to whatever else a host runs). */
export const FIRST_VNI = 4096;

/**
 * A team's bridge network. Addresses are the control plane's: every endpoint's
 * address is allocated here and kept in `network_endpoints`. Each host a member
 * runs on has one bridge for it (`bridge`), and the bridges of hosts with an
 * overlay address are joined by VXLAN (`vni`), so every member reaches every other.
 */
@Entity({ name: 'networks' })
@Index('IDX_networks_team_name', ['teamId', 'name'], { unique: true })
export class Network {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @ForeignKey(() => Team)
  @Column({ type: 'varchar', length: 40 })
  teamId: string;

  @Column({ type: 'varchar', length: 128 })
  name: string;

  @Column({ type: 'varchar', length: 16 })
  driver: 'bridge';

  /** IPv4 CIDR, unique across all teams (bridges share the hosts' routing). */
  @Column({ type: 'varchar', length: 18, unique: true })
  subnet: string;

  @Column({ type: 'varchar', length: 15 })
  gateway: string;

  /** Where container addresses come from, inside the subnet; the whole subnet when null. */
  @Column({ type: 'varchar', length: 18, nullable: true })
  ipRange: string | null;

  /** No route out of the network. */
  @Column({ type: 'boolean', default: false })
  internal: boolean;

  /** The team's default network, which containers join when they name none. */
  @Column({ type: 'boolean', default: false })
  isDefault: boolean;

  /** The Linux bridge on each host (at most 15 characters). */
  @Column({ type: 'varchar', length: 15, unique: true })
  bridge: string;

  @Column(jsonColumn())
  labels: Record<string, string>;

  /** The VXLAN network identifier across hosts. */
  @Index('IDX_networks_vni', { unique: true })
  @Column({ type: 'integer', nullable: true })
  vni: number;

  /** Grows with every change of the members (join, leave, rename); hosts are sent each one. */
  @Column({ type: 'integer', default: 0 })
  revision: number;

  /** The last revision sent to the hosts; behind `revision` until the next sync goes out. */
  @Column({ type: 'integer', default: 0 })
  syncedRevision: number;

  @Column(timestampColumn())
  createdAt: Date;
}

/** A container's address on a network. No two endpoints of a network share an address. */
@Entity({ name: 'network_endpoints' })
@Index('IDX_network_endpoints_network_ip', ['networkId', 'ipAddress'], { unique: true })
@Index('IDX_network_endpoints_network_container', ['networkId', 'containerId'], { unique: true })
export class NetworkEndpoint {
  @PrimaryColumn({ type: 'varchar', length: 40 })
  id: string;

  @ForeignKey(() => Team)
  @Column({ type: 'varchar', length: 40 })
  teamId: string;

  @ForeignKey(() => Network)
  @Column({ type: 'varchar', length: 40 })
  networkId: string;

  @Column({ type: 'varchar', length: 40 })
  containerId: string;

  @Column({ type: 'varchar', length: 40 })
  hostId: string;

  @Column({ type: 'varchar', length: 15 })
  ipAddress: string;

  @Column(jsonColumn())
  aliases: string[];

  @Column(timestampColumn())
  createdAt: Date;
}

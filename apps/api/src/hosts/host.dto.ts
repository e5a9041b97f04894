import { ApiProperty } from '@nestjs/swagger';
import { Host, HostStatus } from '@berth/domain';

export class HostDto {
  @ApiProperty({ example: 'host_01jd8x6w3q0000000000000000' }) id: string;
  @ApiProperty({ example: 'node-1' }) name: string;
  @ApiProperty({ enum: HostStatus, enumName: 'HostStatus' }) status: HostStatus;
  @ApiProperty() cpus: number;
  @ApiProperty() memoryBytes: number;
  @ApiProperty() kernel: string;
  @ApiProperty() os: string;
  @ApiProperty() arch: string;
  @ApiProperty({ example: 'runc' }) runtime: string;
  @ApiProperty() runcVersion: string;
  @ApiProperty() conmonVersion: string;
  @ApiProperty({ enum: [1, 2] }) cgroupVersion: number;
  @ApiProperty() workerVersion: string;
  @ApiProperty({ format: 'date-time' }) lastHeartbeatAt: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class HostListDto {
  @ApiProperty({ type: [HostDto] }) items: HostDto[];
}

export function toHostDto(h: Host): HostDto {
  const i = h.info;
  return {
    id: h.id,
    name: h.name,
    status: h.status,
    cpus: i.cpus,
    memoryBytes: i.memoryBytes,
    kernel: i.kernel,
    os: i.os,
    arch: i.arch,
    runtime: i.runtime,
    runcVersion: i.runcVersion,
    conmonVersion: i.conmonVersion,
    cgroupVersion: i.cgroupVersion,
    workerVersion: i.workerVersion,
    lastHeartbeatAt: h.lastHeartbeatAt.toISOString(),
    createdAt: h.createdAt.toISOString(),
  };
}

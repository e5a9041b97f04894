import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { IsBoolean, IsOptional } from 'class-validator';
import { Host, HostStatus } from '@berth/domain';
import { ToBoolean } from '../common/query-boolean';

@ApiSchema({ name: 'Host' })
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
  @ApiProperty({ enum: [1, 2], enumName: 'CgroupVersion' }) cgroupVersion: number;
  @ApiProperty() workerVersion: string;
  @ApiProperty({
    type: String,
    nullable: true,
    example: '192.0.2.10',
    description: 'Where other hosts send this host’s network traffic (VXLAN); networks do not span to a host without one',
  })
  overlayAddress: string | null;
  @ApiProperty({ format: 'date-time' }) lastHeartbeatAt: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

@ApiSchema({ name: 'HostList' })
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
    overlayAddress: i.overlayAddress ?? null,
    workerVersion: i.workerVersion,
    lastHeartbeatAt: h.lastHeartbeatAt.toISOString(),
    createdAt: h.createdAt.toISOString(),
  };
}

export class DeleteHostQueryDto {
  @ApiPropertyOptional({ description: 'Forget the host although it is still ready (its worker, if still running, registers it again)', default: false })
  @IsOptional()
  @ToBoolean()
  @IsBoolean()
  force?: boolean;
}

import { ApiProperty, ApiPropertyOptional, ApiSchema } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsBoolean, IsOptional, IsString, Matches } from 'class-validator';
import { DEFAULT_TEAM_POLICY, Team } from '@berth/domain';

@ApiSchema({ name: 'CreateTeamRequest' })
export class CreateTeamDto {
  @ApiProperty({ example: 'payments', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' })
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'name must be lower-case letters, digits and dashes (at most 63)' })
  name: string;
}

@ApiSchema({ name: 'TeamPolicy' })
export class TeamPolicyDto {
  @ApiProperty({ description: 'Containers may be privileged or run without seccomp' })
  @IsBoolean()
  allowPrivileged: boolean;

  @ApiProperty({ type: [String], description: 'Capabilities the team may add (`ALL` for any)', example: ['NET_ADMIN'] })
  @IsArray()
  @ArrayMaxSize(64)
  @Matches(/^(CAP_)?[A-Z_]+$|^ALL$/, { each: true, message: 'each value in allowedCapabilities must be a capability name like NET_ADMIN' })
  allowedCapabilities: string[];

  @ApiPropertyOptional({
    type: [String],
    description: 'Absolute host directories under which the team may bind-mount; none by default',
    example: ['/srv/shared'],
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @Matches(/^\/(?!.*(^|\/)\.\.?(\/|$))[^\0]*$/, { each: true, message: 'each value in allowedBindPaths must be an absolute path without . or .. components' })
  allowedBindPaths?: string[];

  @ApiPropertyOptional({ description: 'Containers may use the host’s network stack (networkMode host)', default: false })
  @IsOptional()
  @IsBoolean()
  allowHostNetwork?: boolean;
}

@ApiSchema({ name: 'Team' })
export class TeamDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty() admin: boolean;
  @ApiProperty({ type: TeamPolicyDto }) policy: TeamPolicyDto;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export function toTeamDto(t: Team): TeamDto {
  return { id: t.id, name: t.name, admin: t.admin, policy: { ...DEFAULT_TEAM_POLICY, ...(t.policy ?? {}) }, createdAt: t.createdAt.toISOString() };
}

@ApiSchema({ name: 'CreatedTeam' })
export class CreatedTeamDto {
  @ApiProperty({ type: TeamDto }) team: TeamDto;
  @ApiProperty({ description: 'The team’s first API token. It is shown only once.' }) token: string;
}

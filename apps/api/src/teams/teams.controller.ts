import { Body, Controller, Param, Post, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { ArrayMaxSize, IsArray, IsBoolean, IsOptional, IsString, Matches } from 'class-validator';
import { DataSource } from 'typeorm';
import { AlreadyExistsError, DEFAULT_TEAM_POLICY, NotFoundError, PermissionDeniedError, Team, newId, normalizeHostPath } from '@berth/domain';
import { Auth, AuthContext } from '../common/auth-context';
import { AuthService } from '../auth/auth.service';
import { Endpoint } from '../common/endpoint.decorator';

export class CreateTeamDto {
  @ApiProperty({ example: 'payments', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' })
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'name must be lower-case letters, digits and dashes (at most 63)' })
  name: string;
}

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

export class TeamDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty() admin: boolean;
  @ApiProperty({ type: TeamPolicyDto }) policy: TeamPolicyDto;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

function toTeamDto(t: Team): TeamDto {
  return { id: t.id, name: t.name, admin: t.admin, policy: { ...DEFAULT_TEAM_POLICY, ...(t.policy ?? {}) }, createdAt: t.createdAt.toISOString() };
}

export class CreatedTeamDto {
  @ApiProperty({ type: TeamDto }) team: TeamDto;
  @ApiProperty({ description: 'The team’s first API token. It is shown only once.' }) token: string;
}

@ApiTags('teams')
@ApiBearerAuth()
@Controller('v1/teams')
export class TeamsController {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly auth: AuthService,
  ) {}

  @Post()
  @Endpoint({
    operationId: 'createTeam',
    summary: 'Create a team and its first API token (admins only)',
    status: 201,
    type: CreatedTeamDto,
    errors: [400, 403, 409],
  })
  async create(@Auth() auth: AuthContext, @Body() dto: CreateTeamDto): Promise<CreatedTeamDto> {
    if (!auth.admin) throw new PermissionDeniedError('only administrators can create teams', 'AdminOnly');
    const team = await this.db.transaction(async (tx) => {
      if (await tx.getRepository(Team).exists({ where: { name: dto.name } }))
        throw new AlreadyExistsError(`team "${dto.name}" already exists`, 'TeamNameInUse');
      const row = Object.assign(new Team(), { id: newId('team'), name: dto.name, admin: false, createdAt: new Date(), policy: null });
      await tx.getRepository(Team).insert(row);
      return row;
    });
    const { secret } = await this.auth.issueToken(team.id, 'initial');
    return { team: toTeamDto(team), token: secret };
  }

  @Put(':id/policy')
  @Endpoint({
    operationId: 'setTeamPolicy',
    summary: 'Set what a team’s containers may ask for beyond Docker’s defaults (admins only)',
    type: TeamDto,
    errors: [400, 403, 404],
  })
  async setPolicy(@Auth() auth: AuthContext, @Param('id') id: string, @Body() dto: TeamPolicyDto): Promise<TeamDto> {
    if (!auth.admin) throw new PermissionDeniedError('only administrators can set a team’s policy', 'AdminOnly');
    const policy = {
      allowPrivileged: dto.allowPrivileged,
      allowedCapabilities: dto.allowedCapabilities,
      allowedBindPaths: (dto.allowedBindPaths ?? []).map(normalizeHostPath),
      allowHostNetwork: dto.allowHostNetwork === true,
    };
    const res = await this.db.transaction((tx) => tx.getRepository(Team).update({ id }, { policy }));
    if (!res.affected) throw new NotFoundError(`team ${id} not found`, 'TeamNotFound');
    return toTeamDto(await this.db.getRepository(Team).findOneByOrFail({ id }));
  }
}

import { Body, Controller, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiProperty, ApiTags } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { IsString, Matches } from 'class-validator';
import { DataSource } from 'typeorm';
import { AlreadyExistsError, PermissionDeniedError, Team, newId } from '@berth/domain';
import { Auth, AuthContext } from '../auth/auth-context';
import { AuthService } from '../auth/auth.service';
import { Endpoint } from '../common/endpoint.decorator';

export class CreateTeamDto {
  @ApiProperty({ example: 'payments', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' })
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'name must be lower-case letters, digits and dashes (at most 63)' })
  name: string;
}

export class TeamDto {
  @ApiProperty() id: string;
  @ApiProperty() name: string;
  @ApiProperty() admin: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
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
  @Endpoint({ operationId: 'createTeam', summary: 'Create a team and its first API token (admins only)', status: 201, type: CreatedTeamDto, errors: [400, 403, 409] })
  async create(@Auth() auth: AuthContext, @Body() dto: CreateTeamDto): Promise<CreatedTeamDto> {
    if (!auth.admin) throw new PermissionDeniedError('only administrators can create teams', 'AdminOnly');
    const team = await this.db.transaction(async (tx) => {
      if (await tx.getRepository(Team).exists({ where: { name: dto.name } })) throw new AlreadyExistsError(`team "${dto.name}" already exists`, 'TeamNameInUse');
      const row = Object.assign(new Team(), { id: newId('team'), name: dto.name, admin: false, createdAt: new Date() });
      await tx.getRepository(Team).insert(row);
      return row;
    });
    const { secret } = await this.auth.issueToken(team.id, 'initial');
    return { team: { id: team.id, name: team.name, admin: team.admin, createdAt: team.createdAt.toISOString() }, token: secret };
  }
}

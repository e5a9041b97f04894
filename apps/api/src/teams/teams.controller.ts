import { Body, Controller, Param, Post, Put } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { AdminOnly } from '../common/auth-context';
import { Endpoint } from '../common/endpoint.decorator';
import { CreatedTeamDto, CreateTeamDto, TeamDto, TeamPolicyDto, toTeamDto } from './team.dto';
import { TeamsService } from './teams.service';

@ApiTags('teams')
@Controller('v1/teams')
export class TeamsController {
  constructor(private readonly teams: TeamsService) {}

  @Post()
  @AdminOnly('create teams')
  @Endpoint({
    operationId: 'createTeam',
    summary: 'Create a team and its first API token (admins only)',
    status: 201,
    type: CreatedTeamDto,
    errors: [400, 403, 409],
  })
  async create(@Body() dto: CreateTeamDto): Promise<CreatedTeamDto> {
    const { team, token } = await this.teams.create(dto.name);
    return { team: toTeamDto(team), token };
  }

  @Put(':id/policy')
  @AdminOnly('set a team’s policy')
  @Endpoint({
    operationId: 'setTeamPolicy',
    summary: 'Set what a team’s containers may ask for beyond Docker’s defaults (admins only)',
    type: TeamDto,
    errors: [400, 403, 404],
  })
  async setPolicy(@Param('id') id: string, @Body() dto: TeamPolicyDto): Promise<TeamDto> {
    return toTeamDto(await this.teams.setPolicy({ teamId: id }, dto));
  }
}

import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TeamsController } from '../teams/teams.controller';
import { TeamsRepository } from '../teams/teams.repository';
import { TeamsService } from '../teams/teams.service';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { TokensRepository } from './tokens.repository';

/**
 * Teams and their tokens: one feature in two folders. auth/ answers who is
 * calling (tokens, the guard, the admin team, the first start); teams/ is the
 * teams resource (creation with a first token, policies). They are one module
 * because each needs the other's rows: authenticating reads the token's team,
 * creating a team issues its first token. Other features use the two exported
 * services: AuthService (authenticate, adminTeam) and TeamsService (policyOf).
 */
@Module({
  imports: [],
  controllers: [TeamsController],
  providers: [TeamsRepository, TokensRepository, AuthService, TeamsService, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [AuthService, TeamsService],
})
export class AuthModule {}

import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { TeamsController } from './teams.controller';
import { TeamsRepository } from './teams.repository';
import { TeamsService } from './teams.service';
import { TokensRepository } from './tokens.repository';

/**
 * Teams and their tokens, one feature: who is calling (tokens, the guard, the admin
 * team, the first start) and the teams resource (creation with a first token,
 * policies). Each side needs the other's rows: authenticating reads the token's
 * team, creating a team issues its first token. Other features use the two exported
 * services: AuthService (authenticate, adminTeam) and TeamsService (policyOf).
 */
@Module({
  imports: [],
  controllers: [TeamsController],
  providers: [TeamsRepository, TokensRepository, AuthService, TeamsService, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [AuthService, TeamsService],
})
export class TeamsModule {}

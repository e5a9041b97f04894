import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TeamsController } from '../teams/teams.controller';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';

@Module({
  imports: [],
  controllers: [TeamsController],
  providers: [AuthService, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [AuthService],
})
export class AuthModule {}

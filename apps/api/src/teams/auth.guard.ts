import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PermissionDeniedError } from '@berth/domain';
import { ADMIN_ONLY, AuthContext, IS_PUBLIC } from '../common/auth-context';
import { AuthService } from './auth.service';

/**
 * Global guard: every route needs a bearer token unless marked @Public(), and a
 * route marked @AdminOnly() only the admin team's.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = ctx.switchToHttp().getRequest();
    const auth: AuthContext = await this.auth.authenticate(req.headers.authorization);
    req.auth = auth;
    const adminOnly = this.reflector.getAllAndOverride<string | undefined>(ADMIN_ONLY, targets);
    if (adminOnly && !auth.admin) throw new PermissionDeniedError(`only administrators can ${adminOnly}`, 'AdminOnly');
    return true;
  }
}

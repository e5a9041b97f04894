import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';

/** Who is calling: every query is scoped by `teamId`. */
export interface AuthContext {
  teamId: string;
  tokenId: string;
  admin: boolean;
}

export const IS_PUBLIC = 'berth:public';
/** Marks a route that needs no bearer token (health, docs, signed downloads). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

export const Auth = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthContext => {
  return ctx.switchToHttp().getRequest().auth;
});

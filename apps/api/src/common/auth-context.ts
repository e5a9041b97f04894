import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';

/**
 * The team a query belongs to. Every repository method that reads or writes a
 * team's rows takes one as its first argument, so a query without a team cannot
 * be written by accident.
 */
export interface TeamScope {
  readonly teamId: string;
}

/** Who is calling: every query is scoped by `teamId`. */
export interface AuthContext extends TeamScope {
  teamId: string;
  tokenId: string;
  admin: boolean;
}

export const IS_PUBLIC = 'berth:public';
/** Marks a route that needs no bearer token (health, docs, signed downloads). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

export const ADMIN_ONLY = 'berth:admin-only';
/** Marks a route only the admin team may call; the auth guard answers 403 `AdminOnly` to anyone else. `what` completes "only administrators can …". */
export const AdminOnly = (what: string) => SetMetadata(ADMIN_ONLY, what);

export const Auth = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthContext => {
  return ctx.switchToHttp().getRequest().auth;
});

/**
 * The team id a repository filters by. Refuses a scope without one: TypeORM drops
 * `undefined` from a where clause, which would turn a team's query into everyone's.
 */
export function teamIdOf(scope: TeamScope): string {
  const teamId = scope?.teamId;
  if (typeof teamId !== 'string' || !teamId) throw new Error('a team-scoped query was given no team');
  return teamId;
}

import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DomainError, InvalidArgumentError } from '@berth/domain';
import { ProblemDto, STATUS_BY_CLASS, TITLE_BY_STATUS, problemType } from './problem';

const RETRY_AFTER_SECONDS = 5;

/** The one place errors become HTTP: application/problem+json for everything. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const problem = this.toProblem(exception);
    problem.instance = req.originalUrl;
    problem.requestId = String(req.headers['x-request-id'] ?? '');
    if (problem.status >= 500) this.logger.error(`${req.method} ${req.originalUrl}: ${describe(exception)}`);
    if (res.headersSent) {
      res.end();
      return;
    }
    // A dependency is away (a host, Redis): a client may try again shortly.
    if (problem.status === 503) res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
    res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
  }

  private toProblem(exception: unknown): ProblemDto {
    if (exception instanceof DomainError) {
      const status = STATUS_BY_CLASS[exception.errorClass];
      const problem: ProblemDto = {
        type: problemType(status),
        title: TITLE_BY_STATUS[status],
        status,
        detail: exception.message,
        class: exception.errorClass,
        reason: exception.reason,
      };
      if (exception instanceof InvalidArgumentError && exception.violations.length) problem.errors = exception.violations;
      return problem;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      const detail = typeof body === 'string' ? body : String((body as { message?: unknown }).message ?? exception.message);
      return { type: problemType(status), title: TITLE_BY_STATUS[status] ?? exception.name, status, detail };
    }
    const syntax = exception as { type?: string; status?: number; message?: string };
    if (syntax?.type === 'entity.parse.failed') {
      return {
        type: problemType(400),
        title: TITLE_BY_STATUS[400],
        status: 400,
        detail: `the body is not valid JSON: ${syntax.message}`,
        class: 'InvalidArgument',
        reason: 'MalformedJson',
      };
    }
    if (syntax?.type === 'entity.too.large') {
      return { type: problemType(413), title: TITLE_BY_STATUS[413], status: 413, detail: 'the body is too large' };
    }
    return { type: problemType(500), title: TITLE_BY_STATUS[500], status: 500, detail: 'an internal error occurred; it has been logged', class: 'Internal' };
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}

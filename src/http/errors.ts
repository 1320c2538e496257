/**
 * The one place errors become HTTP responses: `{ok:false, error, detail}` with the right status. Bad
 * input is always a 4xx naming the field; anything unexpected is a logged 500 without details.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EchonetError } from '../errors.js';
import { SECURITY_HEADERS, type AccessGate } from './access.js';

interface ValidationIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/**
 * Every error body. `detail` repeats `error` for clients written for the Python service, whose
 * FastAPI errors carried their message there.
 */
export function errorBody(message: string): { ok: false; error: string; detail: string } {
  return { ok: false, error: message, detail: message };
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | EchonetError | Error, request, reply) => {
    const { status, message } = describe(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.debug({ err: error.message, status }, 'request refused');
    reply.status(status).send(errorBody(message));
  });

  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .send(errorBody(`Route ${request.method} ${request.url.split('?')[0]} not found`));
  });
}

/**
 * Answers a request Fastify could not route (Fastify's frameworkErrors: no hook, route or error
 * handler runs for it): first the allowlist and rate limits, as for any request, then the reason.
 */
export async function answerUnroutable(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
  gate: AccessGate | undefined,
): Promise<void> {
  reply.headers(SECURITY_HEADERS);
  let answer: { status: number; message: string };
  try {
    const refusal = await gate?.refusal(request, reply);
    answer = refusal ? { status: refusal.statusCode, message: refusal.message } : unroutable(error);
  } catch (err) {
    request.log.error({ err }, 'request failed');
    answer = { status: 500, message: 'internal error' };
  }
  void reply.code(answer.status).send(errorBody(answer.message));
}

function unroutable(error: FastifyError): { status: number; message: string } {
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      return { status: 400, message: 'the URL is not validly percent-encoded' };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { status: 414, message: 'a path segment is longer than 100 characters' };
    default:
      return { status: error.statusCode ?? 400, message: 'request refused' };
  }
}

function describe(error: FastifyError | EchonetError | Error): { status: number; message: string } {
  if (error instanceof EchonetError) return { status: error.statusCode, message: error.message };
  const fe = error as FastifyError & { validation?: ValidationIssue[]; validationContext?: string };
  if (fe.validation) {
    return {
      status: 400,
      message: validationMessage(fe.validation, fe.validationContext ?? 'body'),
    };
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) return { status, message: clientErrorMessage(fe) };
  return { status: 500, message: 'internal error' };
}

/** Fastify's own client errors, reworded where its text would confuse a caller. */
function clientErrorMessage(error: FastifyError): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'request body is too large';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'send the body as JSON with Content-Type: application/json';
    // Empty and invalid JSON bodies never come here: the one JSON parser (json-body.ts) turns
    // them into a schema error or a ValidationError, so Fastify's own codes for them never arise.
    default:
      return error.message;
  }
}

/** "body.phrases[3] must NOT have more than 100 characters"-style text for the first issue. */
export function validationMessage(issues: readonly ValidationIssue[], context: string): string {
  const issue = issues[0];
  if (!issue) return `${context} is invalid`;
  const path = context + jsonPointerToPath(issue.instancePath);
  switch (issue.keyword) {
    case 'required':
      return `${path}.${String(issue.params.missingProperty)} is required`;
    case 'type':
      return `${path} must be ${article(String(issue.params.type))}`;
    case 'minLength':
      return `${path} must be at least ${String(issue.params.limit)} characters`;
    case 'maxLength':
      return `${path} must be at most ${String(issue.params.limit)} characters`;
    case 'maxItems':
      return `${path} may hold at most ${String(issue.params.limit)} items`;
    case 'additionalProperties':
      return `${path} has an unknown field '${String(issue.params.additionalProperty)}'`;
    default:
      return `${path} ${issue.message ?? 'is invalid'}`;
  }
}

function jsonPointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
    .join('');
}

function article(type: string): string {
  const names = type
    .split(',')
    .map((t) =>
      t === 'null'
        ? 'null'
        : t === 'integer' || t === 'object' || t === 'array'
          ? `an ${t}`
          : `a ${t}`,
    );
  return names.join(' or ');
}

/**
 * Coded errors (after fastify's lib/errors.js): domain code throws an error with a stable `code`
 * a program or a page can act on, the HTTP status it stands for, and the facts behind it. One
 * place (the HTTP router) turns them into replies: `{error: message, code, ...details}`.
 */
export class CodedError extends Error {
  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
    /** HTTP headers the reply carries (e.g. Retry-After). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'CodedError';
  }

  /** The JSON body an HTTP reply carries for this error. */
  body(): Record<string, unknown> {
    return { error: this.message, code: this.code, ...this.details };
  }
}

export interface ErrorFactory<A extends unknown[]> {
  (...args: A): CodedError;
  readonly code: string;
  readonly statusCode: number;
  /** True when `error` was made by this factory. */
  is(error: unknown): error is CodedError;
}

/**
 * Declares one kind of error: `const NoPoint = defineError('NO_POINT', 404, (id: string) => \`no point ${id}\`)`,
 * then `throw NoPoint('tbilisi-01')`. `details` adds facts to the reply body, `headers` to its headers.
 */
export function defineError<A extends unknown[]>(
  code: string,
  statusCode: number,
  message: (...args: A) => string,
  details?: (...args: A) => Record<string, unknown>,
  headers?: (...args: A) => Record<string, string>,
): ErrorFactory<A> {
  const make = (...args: A) => new CodedError(code, statusCode, message(...args), details?.(...args), headers?.(...args));
  return Object.assign(make, {
    code,
    statusCode,
    is: (error: unknown): error is CodedError => error instanceof CodedError && error.code === code,
  });
}

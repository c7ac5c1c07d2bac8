// The service layer's error family; view/plugins/errors.ts maps each to its HTTP status.
import { statementTimeoutErrnos } from '../model/database.ts'

export class ServiceError extends Error {
  readonly statusCode: number = 500
  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: ErrorOptions
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

export class Invalid extends ServiceError {
  override readonly statusCode = 400
}
export class Unauthorized extends ServiceError {
  override readonly statusCode = 401
}
export class Forbidden extends ServiceError {
  override readonly statusCode = 403
}
export class NotFound extends ServiceError {
  override readonly statusCode = 404
}
export class Conflict extends ServiceError {
  override readonly statusCode = 409
}
export class PayloadTooLarge extends ServiceError {
  override readonly statusCode = 413
}
export class UnsupportedMediaType extends ServiceError {
  override readonly statusCode = 415
}
export class Unavailable extends ServiceError {
  override readonly statusCode = 503
}
export class TooManyRequests extends ServiceError {
  override readonly statusCode = 429
}

/** The database stopped a statement at its server-side time limit (max_statement_time / max_execution_time). */
export function isStatementTimeout(error: unknown): boolean {
  return statementTimeoutErrnos.has((error as { errno?: number }).errno ?? 0)
}

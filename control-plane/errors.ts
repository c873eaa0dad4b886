// Expected failures as values with stable codes; GraphQL returns them as typed results (errors plugin).
export type ErrorCode = "NOT_FOUND" | "CONFLICT" | "VALIDATION";

export interface FieldIssue {
  path: string;
  message: string;
}

export abstract class AppError extends Error {
  abstract readonly code: ErrorCode;
}

export class NotFoundError extends AppError {
  readonly code = "NOT_FOUND" as const;
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super(`${entity} ${id} was not found`);
  }
}

export class ConflictError extends AppError {
  readonly code = "CONFLICT" as const;
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

export class ValidationError extends AppError {
  readonly code = "VALIDATION" as const;
  constructor(readonly issues: FieldIssue[]) {
    super(issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; "));
  }
}

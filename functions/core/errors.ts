/** A problem with a request, answered with the contract's error body. */
export interface Issue {
  readonly path: string;
  readonly message: string;
}

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues?: readonly Issue[],
  ) {
    super(message);
    this.name = 'AppError';
  }

  toBody(): { error: { code: string; message: string; issues?: readonly Issue[] } } {
    return {
      error: { code: this.code, message: this.message, ...(this.issues ? { issues: this.issues } : {}) },
    };
  }
}

export const unauthorized = (message = 'Missing or invalid credentials.') =>
  new AppError(401, 'unauthorized', message);
export const forbidden = (message = 'Your role does not allow this request.') =>
  new AppError(403, 'forbidden', message);
export const notFound = (message = 'No such resource.') => new AppError(404, 'not_found', message);
export const invalidJson = () => new AppError(400, 'invalid_json', 'The request body is not valid JSON.');
export const payloadTooLarge = (limit: number) =>
  new AppError(413, 'payload_too_large', `The request body is larger than ${limit} bytes.`);
export const conflict = (code: string, message: string) => new AppError(409, code, message);
export const invalid = (code: 'invalid_event' | 'invalid_request', issues: readonly Issue[]) =>
  new AppError(
    400,
    code,
    code === 'invalid_event' ? 'The event breaks the rules.' : 'The request breaks the rules.',
    issues,
  );
/** A dependency (DynamoDB, SNS, KMS) failed: the client may retry safely. */
export const unavailable = (
  message = 'A backing service is unavailable; nothing was recorded, retry later.',
) => new AppError(503, 'service_unavailable', message);

import { Logger } from '@aws-lambda-powertools/logger';

/**
 * Structured logs. Only ids, codes and counts are ever logged: never a request
 * body, a phone number or anything a person typed.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'bridgeway' });

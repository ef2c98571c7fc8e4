/**
 * Bundled by test/infra/stack-traces.test.ts as a Lambda function is: fails, and prints the stack
 * the logs would carry.
 */
import { readableStack } from '../../functions/adapters/stack-trace.js';

function failDeepInside(): never {
  throw new Error('planted failure');
}

try {
  failDeepInside();
} catch (error) {
  process.stdout.write(readableStack(error) ?? 'no stack');
}

/**
 * What Lambda bundles get for `@smithy/core/event-streams` (lib/bundling/options.ts). The SDK loads
 * it only for an operation with an event stream, and no service these functions call (DynamoDB,
 * KMS, SNS, Step Functions, Cognito) has one: the codec would only weigh on every bundle (~15 KB).
 * Should a function ever call such an operation, it fails at once, saying why.
 */
function notBundled(): never {
  throw new Error('Event streams are not bundled into Lambda functions (lib/bundling/no-event-streams.ts)');
}

export class EventStreamSerde {
  constructor() {
    notBundled();
  }
}

export const eventStreamSerdeProvider = notBundled;

import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { type TopicName, topics } from '../../../lib/manifest.js';
import { traced } from '../observability.js';

/** A notification as it leaves the backend: ids, site, kind and times only. */
export interface Notification {
  readonly messageId: string;
  readonly topic: TopicName;
  readonly message: string;
  readonly attributes: Record<string, string>;
}

export interface Publisher {
  publish(notification: Notification): Promise<void>;
}

/** Exported so the embedded runtime can give it a local transport (and inject faults in front of it). */
export const snsClient = traced(new SNSClient({}));

export const snsPublisher: Publisher = {
  async publish({ topic, message, attributes, messageId }) {
    const topicArn = process.env[topics[topic].envVar];
    if (!topicArn)
      throw new Error(`${topics[topic].envVar} is not set: this function may not publish to ${topic}`);
    await snsClient.send(
      new PublishCommand({
        TopicArn: topicArn,
        Message: message,
        MessageAttributes: Object.fromEntries(
          Object.entries({ ...attributes, messageId }).map(([key, value]) => [
            key,
            { DataType: 'String', StringValue: value },
          ]),
        ),
      }),
    );
  },
};

/** The publisher (embedded, SNS runs on a local transport of the same client, writing the outbox file). */
export function publisher(): Publisher {
  return snsPublisher;
}

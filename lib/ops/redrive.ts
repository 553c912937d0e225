/**
 * Redrive: moving a dead-letter queue's messages back to a queue whose consumer handles them. Each
 * dead-letter queue of the stack holds one shape (docs/deploy-and-operate.md "Redrive"):
 *
 * | kind     | dead-letter queue              | holds                                   | moved to, as             |
 * |----------|--------------------------------|-----------------------------------------|--------------------------|
 * | `poll`   | PollDeadLetterQueue            | poll messages `{"jobid", "chain"}`      | PollQueue, unchanged     |
 * | `create` | CreateRequestsDeadLetterQueue  | create requests (the POST /tasks body)  | CreateRequestsQueue, unchanged |
 * | `events` | CreateEventsDeadLetterQueue    | Lambda's failure records of createFromEvent | CreateRequestsQueue, as the event's `detail` |
 *
 * A message is sent to the target, then deleted from the dead-letter queue: an interruption between
 * the two leaves a duplicate, never a loss, and every consumer absorbs duplicates (the poll step's
 * conditional claim; the create functions' idempotency key, which a moved create request keeps).
 * A message of another shape stays where it is. Bodies are never logged or returned: create requests
 * carry secret keys.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { CREATE_DETAIL_TYPE, CreateTaskBodySchema, IDEMPOTENCY_KEY_PATTERN } from '../api/schemas.js';
import { PollMessageSchema } from '../queue/port.js';
import type { RedriveKind } from './redriveKinds.js';

export { REDRIVE_KINDS, type RedriveKind } from './redriveKinds.js';

/** The message attribute createFromQueue takes its idempotency key from (else the message id). */
export const IDEMPOTENCY_KEY_ATTRIBUTE = 'idempotency-key';

/**
 * What Lambda sends to an asynchronous invocation's on-failure destination: the invocation record,
 * with the event as `requestPayload` (here: an EventBridge event).
 * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
 */
export const LambdaFailureRecordSchema = z.object({
  version: z.string(),
  timestamp: z.string(),
  requestContext: z.object({
    requestId: z.string(),
    functionArn: z.string(),
    condition: z.string(),
    approximateInvokeCount: z.number(),
  }),
  requestPayload: z.object({
    id: z.string().regex(IDEMPOTENCY_KEY_PATTERN),
    'detail-type': z.literal(CREATE_DETAIL_TYPE),
    source: z.string(),
    detail: z.unknown(),
  }),
  responseContext: z
    .object({ statusCode: z.number(), executedVersion: z.string().optional(), functionError: z.string().optional() })
    .optional(),
  responsePayload: z.unknown().optional(),
});

/** A message as it goes to the target queue. */
interface Outgoing {
  body: string;
  attributes: Record<string, MessageAttributeValue>;
}

/** Why a message was left in the dead-letter queue. */
export type LeftReason = 'not_json' | 'not_a_poll_message' | 'not_a_create_request' | 'not_a_create_event_failure';

function parseJson(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? '');
  } catch {
    return undefined;
  }
}

/** The attributes as SendMessage takes them (ReceiveMessage's carry the same fields). */
function copyAttributes(message: Message): Record<string, MessageAttributeValue> {
  const copied: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    copied[name] = { DataType: value.DataType, StringValue: value.StringValue, BinaryValue: value.BinaryValue };
  }
  return copied;
}

/** One message of the dead-letter queue, as it goes to the target, or why it stays. */
export function redriveMessage(kind: RedriveKind, message: Message): Outgoing | { left: LeftReason } {
  const json = parseJson(message.Body);
  if (json === undefined) return { left: 'not_json' };
  if (kind === 'poll') {
    return PollMessageSchema.safeParse(json).success
      ? { body: message.Body ?? '', attributes: copyAttributes(message) }
      : { left: 'not_a_poll_message' };
  }
  if (kind === 'create') {
    // A failure record has the wrong shape for the create queue's consumer, which would drop it.
    if (!CreateTaskBodySchema.safeParse(json).success) return { left: 'not_a_create_request' };
    const attributes = copyAttributes(message);
    const key = attributes[IDEMPOTENCY_KEY_ATTRIBUTE]?.StringValue;
    // Keep the key the consumer used (the attribute, else the message id): a redriven request that did
    // create its task before failing, or one moved twice, is answered from its idempotency record.
    if (!key || !IDEMPOTENCY_KEY_PATTERN.test(key)) {
      if (!message.MessageId || !IDEMPOTENCY_KEY_PATTERN.test(message.MessageId))
        return { left: 'not_a_create_request' };
      attributes[IDEMPOTENCY_KEY_ATTRIBUTE] = { DataType: 'String', StringValue: message.MessageId };
    }
    return { body: message.Body ?? '', attributes };
  }
  const record = LambdaFailureRecordSchema.safeParse(json);
  if (!record.success || !CreateTaskBodySchema.safeParse(record.data.requestPayload.detail).success)
    return { left: 'not_a_create_event_failure' };
  return {
    body: JSON.stringify(record.data.requestPayload.detail),
    // One key per event: moving the same record twice creates one task.
    attributes: {
      [IDEMPOTENCY_KEY_ATTRIBUTE]: { DataType: 'String', StringValue: `eventbridge:${record.data.requestPayload.id}` },
    },
  };
}

export interface RedriveOptions {
  kind: RedriveKind;
  /** The dead-letter queue's URL. */
  from: string;
  /** The target queue's URL. */
  to: string;
  sqs: SQSClient;
  /** Move at most this many (default: all). */
  max?: number;
  /** Stop between batches (Ctrl-C); the batch in hand is finished. */
  signal?: AbortSignal;
  /** How long a received message stays hidden while it is handled (default 120 s). */
  visibilitySeconds?: number;
  /** Long-poll wait for an empty-looking queue, seconds (default 2; SQS short polls may miss messages). */
  waitSeconds?: number;
}

export interface RedriveReport {
  moved: number;
  left: number;
  /** Counts of the messages left, by reason. */
  leftReasons: Partial<Record<LeftReason, number>>;
  /** Stopped by the signal before the queue was empty. */
  interrupted: boolean;
}

/**
 * Move every message of the right shape from `from` to `to` (send, then delete), leaving the others
 * visible again at the end for inspection.
 *
 * @throws the SDK's errors (no credentials, no such queue, access denied, network), after which the
 *   messages in hand become visible again by themselves
 */
export async function redrive(options: RedriveOptions): Promise<RedriveReport> {
  const report: RedriveReport = { moved: 0, left: 0, leftReasons: {}, interrupted: false };
  const seen = new Set<string>();
  const leftHandles: string[] = [];
  const max = options.max ?? Number.POSITIVE_INFINITY;
  try {
    while (report.moved < max) {
      if (options.signal?.aborted) {
        report.interrupted = true;
        break;
      }
      const { Messages = [] } = await options.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: options.from,
          MaxNumberOfMessages: Math.min(10, max - report.moved),
          WaitTimeSeconds: options.waitSeconds ?? 2,
          VisibilityTimeout: options.visibilitySeconds ?? 120,
          MessageAttributeNames: ['All'],
        }),
      );
      const fresh = Messages.filter((message) => message.MessageId && !seen.has(message.MessageId));
      if (fresh.length === 0) break;
      const outgoing: { message: Message; out: Outgoing; id: string }[] = [];
      for (const [index, message] of fresh.entries()) {
        seen.add(message.MessageId ?? '');
        const result = redriveMessage(options.kind, message);
        if ('left' in result) {
          report.left += 1;
          report.leftReasons[result.left] = (report.leftReasons[result.left] ?? 0) + 1;
          if (message.ReceiptHandle) leftHandles.push(message.ReceiptHandle);
        } else outgoing.push({ message, out: result, id: String(index) });
      }
      if (outgoing.length === 0) continue;
      const sent = await options.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: options.to,
          Entries: outgoing.map(({ out, id }) => ({
            Id: id,
            MessageBody: out.body,
            MessageAttributes: Object.keys(out.attributes).length > 0 ? out.attributes : undefined,
          })),
        }),
      );
      const sentIds = new Set((sent.Successful ?? []).map((entry) => entry.Id));
      const toDelete = outgoing.filter(({ id }) => sentIds.has(id));
      if (toDelete.length > 0) {
        const deleted = await options.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: options.from,
            Entries: toDelete.map(({ message, id }) => ({ Id: id, ReceiptHandle: message.ReceiptHandle ?? '' })),
          }),
        );
        // A message sent but not deleted comes back after its visibility timeout: a duplicate the consumer absorbs.
        report.moved += deleted.Successful?.length ?? 0;
      }
      if ((sent.Failed ?? []).length > 0) throw new RedriveSendError(sent.Failed?.[0]?.Code ?? 'unknown');
    }
  } finally {
    // The messages left behind are visible again at once, for inspection or another tool.
    for (let i = 0; i < leftHandles.length; i += 10) {
      const batch = leftHandles.slice(i, i + 10);
      await options.sqs
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: options.from,
            Entries: batch.map((handle, index) => ({ Id: String(index), ReceiptHandle: handle, VisibilityTimeout: 0 })),
          }),
        )
        .catch(() => undefined);
    }
  }
  return report;
}

/** SQS refused to take some messages (they stay in the dead-letter queue). */
export class RedriveSendError extends Error {
  override readonly name = 'RedriveSendError';
  constructor(readonly code: string) {
    super(`the target queue refused messages (${code}); they stay in the dead-letter queue`);
  }
}

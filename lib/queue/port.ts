/**
 * The queue port. The poll chain of a task is one message for its whole life: sent once at
 * creation, then held back with a visibility change after each not-final answer. The poller never
 * sends to its own queue, so Lambda's recursive-loop detection never stops a long job and the
 * redrive policy still counts every receive (docs/architecture.md).
 */
import type { SQSRecord } from 'aws-lambda';
import * as z from 'zod';

/** The poll message body: the jobid and the chain generation, nothing of the request. */
export const PollMessageSchema = z.object({ jobid: z.string().min(1), chain: z.int().min(0).default(0) });
export type PollMessage = z.input<typeof PollMessageSchema>;

export interface PollQueue {
  /** SendMessage with DelaySeconds (0..900). */
  sendPoll(message: PollMessage, delaySeconds: number): Promise<void>;
  /** ChangeMessageVisibility of a received message (0..43200 s). */
  deferPoll(receiptHandle: string, delaySeconds: number): Promise<void>;
}

/** What a local event source mapping needs: receive a batch, delete what was handled. */
export interface QueueConsumer {
  receive(maxMessages: number, waitSeconds: number): Promise<SQSRecord[]>;
  delete(receiptHandle: string): Promise<void>;
}

/** SQS limits, checked before a call rather than discovered from an error. */
export const MAX_DELAY_SECONDS = 900;
export const MAX_VISIBILITY_SECONDS = 43_200;

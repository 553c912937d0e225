/**
 * Completion events on an EventBridge bus: source `wecom-zone-tasks` (configurable), detail-type
 * `ProgramTaskCompleted`. A rejected entry is an error, so the poll step keeps its message and retries.
 */
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { COMPLETION_DETAIL_TYPE, type CompletionEvent, type CompletionPublisher } from './completion.js';

export class EventBridgePublisher implements CompletionPublisher {
  constructor(
    readonly client: EventBridgeClient,
    readonly busName: string,
    readonly source: string,
  ) {}

  async publish(event: CompletionEvent): Promise<void> {
    const { FailedEntryCount = 0, Entries = [] } = await this.client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.busName,
            Source: this.source,
            DetailType: COMPLETION_DETAIL_TYPE,
            Detail: JSON.stringify(event),
          },
        ],
      }),
    );
    if (FailedEntryCount > 0) throw new Error(`EventBridge refused the event: ${Entries[0]?.ErrorCode ?? 'unknown'}`);
  }
}

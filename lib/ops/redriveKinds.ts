/** The dead-letter queues `redrive` knows, by the one shape each holds (docs/deploy-and-operate.md "Redrive"). */
export const REDRIVE_KINDS = ['poll', 'create', 'events'] as const;
export type RedriveKind = (typeof REDRIVE_KINDS)[number];

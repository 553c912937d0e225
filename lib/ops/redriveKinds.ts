/** The dead-letter queues `redrive` knows, by the one shape each holds (README "Redrive"). */
export const REDRIVE_KINDS = ['poll', 'create', 'events'] as const;
export type RedriveKind = (typeof REDRIVE_KINDS)[number];

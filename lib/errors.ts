/**
 * The base of every error this service answers for in public: it carries the HTTP status and the
 * stable public error code (`invalid_request`, `zone_rejected`, …) that a client sees. Each folder
 * keeps its own errors in its `errors.ts`; `lib/api/errors.ts` holds the one table that turns them
 * into answers (message, details, headers) and says what an event source does with each. An error
 * that is not a ServiceError is answered 500 without detail: its text is not ours to show.
 */
export abstract class ServiceError extends Error {
  /** The HTTP status of the answer, e.g. 422. */
  abstract readonly statusCode: number;
  /** The public, machine-readable error code, e.g. `zone_rejected`. */
  abstract readonly code: string;
}

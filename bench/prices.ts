/**
 * The price table the cost rows (`bench/cost.ts`, row 8) use: one region, USD list prices, no free
 * tier, no savings plan. Each line names the AWS pricing page it comes from and whether its figure
 * was seen for this region on the date below; a line not seen is the best figure available and says
 * so (this machine reaches no AWS page: the figures were looked up in stored copies of the pages).
 * Change a figure here and `npm run bench` reprices every row.
 */

/** The date these figures were looked up (UTC). */
export const PRICES_DATE = '2026-11-30';
/** The region priced: the default of serverless.yml (`provider.region`). */
export const PRICES_REGION = 'ap-southeast-1';

export interface PriceLine {
  /** USD per `unit`. */
  usd: number;
  unit: string;
  source: string;
  /** `seen`: the figure was read for this region; otherwise what was seen, and what is assumed. */
  verified: 'seen' | string;
}

export const PRICES = {
  lambdaRequest: {
    usd: 0.2 / 1e6,
    unit: 'request (invocation)',
    source: 'https://aws.amazon.com/lambda/pricing/',
    verified: 'seen for US East ($0.20 per million); the same figure assumed for Singapore (not seen)',
  },
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    unit: 'GB-second, arm64, first tier',
    source: 'https://aws.amazon.com/lambda/pricing/',
    verified: 'arm64 rate seen in a copy of the US East table; assumed equal for Singapore (not seen)',
  },
  dynamoWriteRequestUnit: {
    usd: 0.7125 / 1e6,
    unit: 'write request unit, on-demand, Standard table class',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    verified:
      'not seen: US East is $0.625 per million since the November 2024 cut; Singapore assumed 14 % above it, as its earlier list prices were',
  },
  dynamoReadRequestUnit: {
    usd: 0.1425 / 1e6,
    unit: 'read request unit, on-demand, Standard table class',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    verified: 'not seen: US East is $0.125 per million; Singapore assumed 14 % above it',
  },
  sqsRequest: {
    usd: 0.4 / 1e6,
    unit: 'standard queue request (each 64 KB chunk)',
    source: 'https://aws.amazon.com/sqs/pricing/',
    verified: 'not seen for Singapore: $0.40 per million is the standard-queue list price in most regions',
  },
  eventBridgeEvent: {
    usd: 1 / 1e6,
    unit: 'custom event published (64 KB chunk)',
    source: 'https://aws.amazon.com/eventbridge/pricing/',
    verified: 'not seen for Singapore: $1.00 per million custom events is the list price in most regions',
  },
  stepFunctionsTransition: {
    usd: 0.025 / 1000,
    unit: 'Standard workflow state transition',
    source: 'https://aws.amazon.com/step-functions/pricing/',
    verified: 'seen',
  },
  durableOperation: {
    usd: 8 / 1e6,
    unit: 'Lambda durable functions operation',
    source: 'https://aws.amazon.com/lambda/pricing/',
    verified: 'seen as the US East example rate ($8.00 per million); assumed equal for Singapore (not seen)',
  },
  durableDataWrittenGb: {
    usd: 0.25,
    unit: 'GB of durable execution data written',
    source: 'https://aws.amazon.com/lambda/pricing/',
    verified: 'not seen: the launch figure as remembered; it is too small to move any row',
  },
  durableDataRetainedGbMonth: {
    usd: 0.15,
    unit: 'GB-month of durable execution data retained',
    source: 'https://aws.amazon.com/lambda/pricing/',
    verified: 'not seen: the launch figure as remembered; it is too small to move any row',
  },
} as const satisfies Record<string, PriceLine>;

/**
 * Lambda time per invocation is not measured here (the zone answers from another continent; this
 * machine's figure would mean nothing): assumed, and the same for every design compared.
 */
export const ASSUMED_DURATION_MS = {
  /** An invocation that calls the zone once (the relay's round trip to WeCom dominates). */
  zoneCall: 200,
  /** An invocation that only reads or writes AWS (a held-back or settled message). */
  noZoneCall: 30,
} as const;

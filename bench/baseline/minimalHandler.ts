/**
 * The baseline of rows 1 and 2: the smallest useful HTTP handler on the same stack, importing only
 * what every function here needs (`@aws-sdk/client-sqs`, `@middy/core`, zod). It validates a
 * body with zod, sends one SQS message and answers 202. It is built with the packaged esbuild
 * settings and never deployed.
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod';

const BodySchema = z.object({ jobid: z.string().min(1) });
const sqs = new SQSClient({});

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>().handler(async (event) => {
  const body = BodySchema.parse(JSON.parse(event.body ?? '{}'));
  await sqs.send(new SendMessageCommand({ QueueUrl: process.env.POLL_QUEUE_URL, MessageBody: JSON.stringify(body) }));
  return { statusCode: 202, body: JSON.stringify(body) };
});

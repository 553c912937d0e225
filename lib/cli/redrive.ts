/**
 * `redrive <poll|create|events> --from DLQ --to QUEUE`: a dead-letter queue's messages back to a
 * working consumer (logic: `lib/ops/redrive.ts`). SQS through the AWS SDK with the default
 * credential chain; the region from --region, the queue URL, or the default chain.
 */
import { EXIT, type ExitCode, PROGRAM, type RedriveOptions } from './args.js';
import { AwsSetupError, defaultRegion, isCredentialsError, noCredentials } from './aws.js';
import { sqsUrlRegion } from './awsHosts.js';
import { ApiError, printable } from './client.js';
import type { CliIo } from './commands.js';

const REASONS: Record<string, string> = {
  not_json: 'not JSON',
  not_a_poll_message: 'not a poll message',
  not_a_create_request: 'not a create request',
  not_a_create_event_failure: "not createFromEvent's failure record of a CreateProgramTask event",
};

export async function redriveCommand(options: RedriveOptions, io: CliIo): Promise<ExitCode> {
  const region = options.region ?? sqsUrlRegion(options.from) ?? (await defaultRegion(io.env));
  if (!region) throw new AwsSetupError('redrive: no AWS region: give --region, or set AWS_REGION');
  const [{ SQSClient }, { redrive }] = await Promise.all([import('@aws-sdk/client-sqs'), import('../ops/redrive.js')]);
  const sqs = new SQSClient({ region });
  let report: Awaited<ReturnType<typeof redrive>>;
  try {
    report = await redrive({
      kind: options.kind,
      from: options.from,
      to: options.to,
      max: options.max,
      sqs,
      signal: io.signal,
    });
  } catch (error) {
    throw sqsError(error);
  } finally {
    sqs.destroy();
  }
  if (options.json) io.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    io.stdout.write(
      `moved ${report.moved} message${report.moved === 1 ? '' : 's'} from ${options.from} to ${options.to}\n`,
    );
    for (const [reason, count] of Object.entries(report.leftReasons)) {
      io.stdout.write(
        `left ${count} in the dead-letter queue: ${REASONS[reason] ?? reason} (see "${PROGRAM} help redrive")\n`,
      );
    }
  }
  if (report.interrupted) {
    io.stderr.write('interrupted: the messages not yet moved stay in the dead-letter queue\n');
    return EXIT.interrupted;
  }
  return EXIT.ok;
}

/** SDK errors by kind: no credentials (exit 1), refused (4), unreachable (5). Never a message body. */
function sqsError(error: unknown): unknown {
  if (isCredentialsError(error)) return noCredentials('redrive', error);
  const name = (error as Error | undefined)?.name ?? 'Error';
  if (name === 'RedriveSendError')
    return new ApiError(`redrive: ${printable((error as Error).message, 200)}`, 'rejected');
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return new ApiError(
      `redrive: SQS refused the call (${printable(name, 80)}): check the queue URLs, the region and your permissions`,
      'rejected',
      status,
    );
  }
  if (status !== undefined)
    return new ApiError(`redrive: SQS answered ${status} (${printable(name, 80)}); try again`, 'unavailable', status);
  return new ApiError(`redrive: SQS is unreachable (${printable(name, 80)})`, 'unavailable');
}

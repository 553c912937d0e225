/**
 * The command line without the process: argv and streams in, an exit code out. `main.ts` wires it
 * to the process (signals, exit).
 */
import { type Command, EXIT, type ExitCode, PROGRAM, parseCommand, USAGE, UsageError } from './args.js';
import { ApiError, printable } from './client.js';
import { type CliIo, get, submit } from './commands.js';
import { zone } from './zone.js';

function hints(error: ApiError, command: Command | undefined): string[] {
  if (error.status === 401)
    return ['the API wants a bearer token: --token T or $WECOM_ZONE_TASKS_TOKEN (npm start checks LOCAL_API_TOKEN)'];
  if (error.status === 403 && error.code === undefined && (command?.name === 'submit' || command?.name === 'get')) {
    // API Gateway's own answer (no error code of ours): the IAM authorizer refused the request.
    return command.options.sigv4
      ? [
          "the IAM authorizer refused the signed request: the credentials need execute-api:Invoke on the API (stack output HttpApiExecuteArn), and the region must be the API's (--region)",
        ]
      : [
          'the deployed API requires AWS SigV4 signatures (IAM authorization): add --sigv4 (automatic for an execute-api URL)',
        ];
  }
  return [];
}

/** Errors → a message on standard error and an exit code. Messages never quote the request file. */
function report(error: unknown, io: CliIo, command?: Command): ExitCode {
  const write = (line: string) => io.stderr.write(`${line}\n`);
  if (error instanceof UsageError) {
    write(`${PROGRAM}: ${error.message}`);
    if (error.usageOf) write(`run "${PROGRAM} help${error.usageOf === 'main' ? '' : ` ${error.usageOf}`}" for usage`);
    return EXIT.usage;
  }
  if (error instanceof ApiError) {
    write(`${PROGRAM}: ${error.message}`);
    for (const line of [...error.details, ...hints(error, command)]) write(`  ${line}`);
    return error.kind === 'rejected' ? EXIT.rejected : EXIT.unavailable;
  }
  if ((error as Error)?.name === 'AwsSetupError') {
    // No credentials or no region: nothing was sent.
    write(`${PROGRAM}: ${(error as Error).message}`);
    return EXIT.usage;
  }
  // A bug: the name and message of our own error (never the request's content), and exit 1.
  write(
    `${PROGRAM}: unexpected error: ${(error as Error)?.name ?? typeof error}: ${printable(String((error as Error)?.message ?? ''), 300)}`,
  );
  return EXIT.usage;
}

export async function run(argv: string[], io: CliIo): Promise<ExitCode> {
  if (argv.length === 0) {
    io.stderr.write(USAGE.main);
    return EXIT.usage;
  }
  let command: Command | undefined;
  try {
    command = parseCommand(argv, io.env);
    switch (command.name) {
      case 'help':
        io.stdout.write(USAGE[command.topic]);
        return EXIT.ok;
      case 'submit':
        return await submit(command.options, io);
      case 'get':
        return await get(command.options, io);
      case 'zone':
        return await zone(command.options, io);
      case 'redrive':
        // Loaded only here: the SDK's SQS client and credential chain are not needed by the other commands.
        return await (await import('./redrive.js')).redriveCommand(command.options, io);
    }
  } catch (error) {
    return report(error, io, command);
  }
}

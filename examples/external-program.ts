/**
 * A sample analysis program in its own process, the shape of one you would upload to the zone: it
 * listens on 8080, takes `{ability_id, job_info, data}`, accepts at once (202), and reports later
 * by POSTing `{job_info, errcode, result}` to the callback URL the zone gave it (the emulator's
 * `program_async_job_call_back`). With PROGRAM_MODE=sync it answers the report at once instead.
 *
 *   PORT=8080 npx tsx examples/external-program.ts
 *
 * It counts messages, characters and speakers in the `msg` field of its input protocol
 * (`{"task": "count", "msg": "{chat}"}`), and never logs what it reads.
 */
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const delayMs = Number(process.env.PROGRAM_DELAY_MS ?? 1000);
const syncMode = process.env.PROGRAM_MODE === 'sync';

interface ProgramCall {
  ability_id: string;
  job_info: string;
  data: string;
}

function analyse(data: string): { errcode: number; result: string } {
  const input = JSON.parse(data) as { msg?: unknown };
  const chat = typeof input.msg === 'string' ? input.msg : '';
  // Under escape_type 0 line breaks arrive as spaces; each turn still starts with "<sender>说：".
  const turns = chat.split(/\n| (?=[^\s说：]{1,64}说：)/).filter((turn) => turn.includes('说：'));
  const speakers = new Set(turns.map((turn) => turn.slice(0, turn.indexOf('说：'))));
  const chars = turns.reduce((sum, turn) => sum + [...turn.slice(turn.indexOf('说：') + 2)].length, 0);
  return {
    errcode: 0,
    result: JSON.stringify({ message_count: turns.length, char_count: chars, speakers: speakers.size }),
  };
}

async function report(
  callbackUrl: string,
  jobInfo: string,
  outcome: { errcode: number; result: string },
): Promise<void> {
  const response = await fetch(callbackUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ job_info: jobInfo, ...outcome }),
  });
  const answer = (await response.json()) as { errcode: number };
  process.stderr.write(`reported a job: zone answered errcode ${answer.errcode}\n`);
}

const server = createServer(async (request, response) => {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  let call: ProgramCall;
  try {
    call = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ProgramCall;
    if (typeof call.job_info !== 'string' || typeof call.data !== 'string') throw new Error('bad call');
  } catch {
    response
      .writeHead(400, { 'content-type': 'application/json' })
      .end('{"error":"expected {ability_id, job_info, data}"}');
    return;
  }
  let outcome: { errcode: number; result: string };
  try {
    outcome = analyse(call.data);
  } catch {
    outcome = { errcode: 1, result: '{"error":"input is not the expected protocol"}' };
  }
  if (syncMode) {
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(outcome));
    return;
  }
  const callbackUrl = request.headers['x-zone-callback-url'];
  if (typeof callbackUrl !== 'string') {
    response.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"no x-zone-callback-url"}');
    return;
  }
  response.writeHead(202, { 'content-type': 'application/json' }).end('{}');
  setTimeout(() => {
    report(callbackUrl, call.job_info, outcome).catch((error: Error) =>
      process.stderr.write(`report failed: ${error.name}\n`),
    );
  }, delayMs);
});

server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const shown = typeof address === 'object' && address ? address.port : port;
  process.stderr.write(
    `sample analysis program listening on http://127.0.0.1:${shown}/ (${syncMode ? 'sync' : 'async'} mode)\n`,
  );
});
// Stop at the first SIGINT or SIGTERM, even with a keep-alive connection open (close() alone waits for it).
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

/**
 * The relay transport against the fake WeCom API over real HTTP: `sync_call_program` to a relay
 * program, every WeCom answer of RELAY_ERRCODE_TABLE, the relay's own failure codes, and the token
 * handling it shares with the other WeCom transport. The relay here is a small in-test HTTP server
 * speaking the fake SDK's wire (signed plain JSON); the real Python relay runs in
 * test/e2e/relayChain.test.ts.
 */

import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ERRCODE, SDK_CODE } from '../../lib/protocol/errcodes.js';
import { relayProtocolFiles } from '../../lib/protocol/relayProtocols.js';
import { ZONE_API } from '../../lib/protocol/zone.js';
import { protocolMismatch } from '../../lib/render/protocolMatch.js';
import { close, listen, readBody } from '../../lib/shared/nodeHttp.js';
import { zoneClient } from '../../lib/zone/client.js';
import { ZoneConfigurationError, ZoneTransportError } from '../../lib/zone/errors.js';
import { AccessTokenCache } from '../../lib/zone/wecom/accessToken.js';
import { RELAY_ERRCODE_TABLE, RELAY_REFUSED, RelayTransport } from '../../lib/zone/wecom/relayTransport.js';
import type { SecretSource } from '../../lib/zone/wecom/secrets.js';
import { type FakeWecomApi, fakeSpecSignature, startFakeWecomApi } from '../support/fakeWecomApi.js';
import { DOC_EXAMPLE_REQUEST, recordingLogger, SECRETS_AND_CHAT } from '../support/fixtures.js';

/** A corp secret already in hand: the transport reads it as it reads SSM's. */
function staticSecret(value: string, location = 'static'): SecretSource {
  return { location, get: async () => value };
}

const CORP_ID = 'ww-relay-corp';
const CORP_SECRET = 'corp-secret-relay-4c1d-do-not-leak';

/** A relay speaking the fake SDK's wire: answers what `respond` returns as response_data. */
async function startRelay(
  respond: (call: { ability_id: string; data: string; corpid: string; agentid: number }) => string,
): Promise<{ url: string; server: Server; calls: number }> {
  const state = { calls: 0 };
  const server = createServer(async (request, response) => {
    const body = (await readBody(request)).toString('utf8');
    if (request.headers['x-fake-spec-signature'] !== fakeSpecSignature(body)) {
      response.writeHead(200, { 'x-fake-spec-exception': '1' }).end('{}');
      return;
    }
    state.calls += 1;
    const answer = JSON.stringify({ response_data: respond(JSON.parse(body)) });
    response
      .writeHead(200, { 'content-type': 'application/json', 'x-fake-spec-signature': fakeSpecSignature(answer) })
      .end(answer);
  });
  const url = await listen(server, 0, '127.0.0.1');
  return {
    url,
    server,
    get calls() {
      return state.calls;
    },
  };
}

describe('RelayTransport against the fake WeCom API', () => {
  let fake: FakeWecomApi | undefined;
  let relayServer: Server | undefined;
  afterEach(async () => {
    await fake?.close();
    if (relayServer) await close(relayServer);
    fake = undefined;
    relayServer = undefined;
  });

  /** The fake WeCom API with a relay in front of its own emulator (the zone). */
  async function setUp(
    respond?: Parameters<typeof startRelay>[0],
    relayOptions: { timeoutMs?: number; signingKey?: string } = {},
  ) {
    const relay = await startRelay(
      respond ??
        ((call) => {
          throw new Error(`unexpected relay call ${call.ability_id}`);
        }),
    );
    relayServer = relay.server;
    fake = await startFakeWecomApi({
      corpId: CORP_ID,
      corpSecret: CORP_SECRET,
      relay: { url: relay.url, ...relayOptions },
    });
    const log = recordingLogger();
    const transport = new RelayTransport({
      corpId: CORP_ID,
      corpSecret: staticSecret(CORP_SECRET),
      programId: 'RELAY_PROGRAM',
      baseUrl: fake.url,
      timeoutMs: 3000,
      tokenCache: new AccessTokenCache(),
      logger: log,
    });
    return { fake, relay, transport, log };
  }

  /** A relay that does what ours does: the SDK call, here straight into the fake's emulator. */
  const emulatorRelay = (): Parameters<typeof startRelay>[0] => (call) => {
    const api = call.ability_id.replace(/^invoke_/, '');
    const request = JSON.parse(call.data);
    const emulator = fake?.emulator;
    if (!emulator) throw new Error('no emulator');
    return JSON.stringify(
      api === ZONE_API.createProgramTask ? emulator.createProgramTask(request) : emulator.getProgramTaskResult(request),
    );
  };

  it('calls sync_call_program with invoke_<api> abilities and answers response_data verbatim, through to SUCCEEDED', async () => {
    const { relay, transport } = await setUp(emulatorRelay());
    const client = zoneClient(transport);
    const created = await client.createProgramTask({ ...DOC_EXAMPLE_REQUEST, escape_type: 0 });
    expect(created.errcode).toBe(0);
    const requestJson = JSON.stringify({ ...DOC_EXAMPLE_REQUEST, escape_type: 0 });
    expect(fake?.syncCallBodies[0]).toEqual({
      program_id: 'RELAY_PROGRAM',
      ability_id: 'invoke_create_program_task',
      request_data: requestJson,
    });
    let result = await client.getProgramTaskResult(created.jobid ?? '');
    for (let i = 0; i < 50 && result.errcode === ERRCODE.resultPending; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      result = await client.getProgramTaskResult(created.jobid ?? '');
    }
    expect(result).toMatchObject({ errcode: 0, response_errcode: 0, response_data: expect.any(String) });
    expect(fake?.syncCallBodies.at(-1)).toMatchObject({ ability_id: 'invoke_get_program_task_result' });
    expect(relay.calls).toBe(fake?.count('sync_call_program', 0));
    expect(fake?.count('gettoken')).toBe(1);
  });

  it('passes the zone answer through byte for byte, including duplicates and unknown-jobid errors', async () => {
    const verbatim =
      '{"errcode":0,"errmsg":"ok","jobid":"J1","fail_list":[{"errcode":710613,"errmsg":"dup","msgid":"M1"}]}';
    const { transport } = await setUp(() => verbatim);
    expect(await transport.invoke(ZONE_API.createProgramTask, JSON.stringify(DOC_EXAMPLE_REQUEST))).toBe(verbatim);
  });

  it.each([...RELAY_ERRCODE_TABLE.entries()])('maps WeCom errcode %i as the table says', async (errcode, mapping) => {
    const { transport, relay } = await setUp(emulatorRelay());
    fake?.refuseChatdata(errcode);
    const call = transport.invoke(ZONE_API.createProgramTask, JSON.stringify(DOC_EXAMPLE_REQUEST));
    if (mapping.kind === 'busy') {
      expect(JSON.parse(await call)).toEqual({ errcode, errmsg: expect.any(String), fail_list: [] });
    } else {
      const error = await call.then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(mapping.kind === 'configuration' ? ZoneConfigurationError : ZoneTransportError);
      expect(error).toMatchObject({ reach: mapping.reach, wecomErrcode: errcode });
      expect((error as Error).message).toContain(String(errcode));
      if (mapping.kind === 'configuration') expect((error as Error).message).toContain('invoke_create_program_task');
    }
    expect(relay.calls).toBe(0);
  });

  it('names the ability and the protocol file to paste when WeCom reports a protocol mismatch', async () => {
    // The admin console holds empty protocols: the request has keys they lack, so WeCom answers 790016.
    const abilities = Object.fromEntries(
      relayProtocolFiles().map((file) => [file.abilityId, { input: {}, output: {} }]),
    );
    fake = await startFakeWecomApi({
      corpId: CORP_ID,
      corpSecret: CORP_SECRET,
      relay: { url: 'http://127.0.0.1:9/', abilities },
    });
    const mismatched = new RelayTransport({
      corpId: CORP_ID,
      corpSecret: staticSecret(CORP_SECRET),
      programId: 'RELAY_PROGRAM',
      baseUrl: fake.url,
    });
    const failure = mismatched.invoke(ZONE_API.createProgramTask, JSON.stringify(DOC_EXAMPLE_REQUEST));
    await expect(failure).rejects.toBeInstanceOf(ZoneConfigurationError);
    await expect(failure).rejects.toMatchObject({ wecomErrcode: 790016, reach: 'not_sent' });
    await expect(failure).rejects.toThrow(
      /invoke_create_program_task.*relay\/protocol\/invoke_create_program_task\.input\.json/,
    );
  });

  it('an unknown relay program or ability is a configuration error naming the setting to fix', async () => {
    const { fake: api } = await setUp(emulatorRelay());
    const wrongProgram = new RelayTransport({
      corpId: CORP_ID,
      corpSecret: staticSecret(CORP_SECRET),
      programId: 'NOPE',
      baseUrl: api.url,
    });
    await expect(wrongProgram.invoke(ZONE_API.createProgramTask, JSON.stringify(DOC_EXAMPLE_REQUEST))).rejects.toThrow(
      /800001.*WECOM_RELAY_PROGRAM_ID \(now NOPE\)/,
    );
    const wrongAbility = new RelayTransport({
      corpId: CORP_ID,
      corpSecret: staticSecret(CORP_SECRET),
      programId: 'RELAY_PROGRAM',
      baseUrl: api.url,
      abilities: { [ZONE_API.getProgramTaskResult]: 'get_result' },
    });
    await expect(wrongAbility.invoke(ZONE_API.getProgramTaskResult, '{"jobid":"J"}')).rejects.toThrow(
      /710636.*ability get_result/,
    );
  });

  it('reports a relay down, a slow relay and a broken answer as transport failures, saying whether a create may exist', async () => {
    const down = await setUp(emulatorRelay());
    await close(down.relay.server);
    relayServer = undefined;
    await expect(
      down.transport.invoke(ZONE_API.createProgramTask, JSON.stringify(DOC_EXAMPLE_REQUEST)),
    ).rejects.toMatchObject({
      wecomErrcode: 710674,
      reach: 'not_sent',
    });
    await fake?.close();

    const slow = await setUp(
      () => {
        const until = Date.now() + 400;
        while (Date.now() < until) {
          // a relay busy past WeCom's wait
        }
        return '{"errcode":0}';
      },
      { timeoutMs: 100 },
    );
    await expect(
      slow.transport.invoke(ZONE_API.createProgramTask, JSON.stringify(DOC_EXAMPLE_REQUEST)),
    ).rejects.toMatchObject({
      wecomErrcode: 710675,
      reach: 'unknown',
      sdkCode: SDK_CODE.networkFailure,
    });
    await fake?.close();
    await close(slow.relay.server);

    // The relay cannot verify the call (another signing key): it answers with the exception header.
    const unverified = await setUp(emulatorRelay(), { signingKey: 'another-key' });
    await expect(
      unverified.transport.invoke(ZONE_API.createProgramTask, JSON.stringify(DOC_EXAMPLE_REQUEST)),
    ).rejects.toMatchObject({
      wecomErrcode: 710677,
      reach: 'unknown',
    });
  });

  it("turns the relay's SDK failure codes into transport failures, and its refusal into a configuration error", async () => {
    let answer = JSON.stringify({ errcode: SDK_CODE.networkFailure, errmsg: 'sdk call failed' });
    const { transport } = await setUp(() => answer);
    await expect(transport.invoke(ZONE_API.getProgramTaskResult, '{"jobid":"J"}')).rejects.toMatchObject({
      sdkCode: SDK_CODE.networkFailure,
      reach: 'unknown',
    });
    answer = JSON.stringify({ errcode: RELAY_REFUSED, errmsg: 'ability not allowed' });
    const refused = transport.invoke(ZONE_API.getProgramTaskResult, '{"jobid":"J"}');
    await expect(refused).rejects.toBeInstanceOf(ZoneConfigurationError);
    await expect(refused).rejects.toMatchObject({ sdkCode: RELAY_REFUSED, reach: 'not_sent' });
  });

  it('refreshes a refused token once and replays the call once', async () => {
    const { transport } = await setUp(emulatorRelay());
    fake?.refuseChatdata(42001);
    expect(
      JSON.parse(await transport.invoke(ZONE_API.createProgramTask, JSON.stringify(DOC_EXAMPLE_REQUEST))).errcode,
    ).toBe(0);
    expect(fake?.count('gettoken')).toBe(2);
    expect(fake?.count('sync_call_program')).toBe(2);
    expect(transport.stats).toEqual({ tokenRequests: 2, tokenRefusals: 1 });
  });

  it('refuses what it cannot send before calling WeCom: an unknown API, a request that is not JSON, no jobid', async () => {
    const { transport } = await setUp(emulatorRelay());
    await expect(transport.invoke('sync_msg', '{}')).rejects.toMatchObject({
      sdkCode: SDK_CODE.unknownApi,
      reach: 'not_sent',
    });
    await expect(transport.invoke(ZONE_API.createProgramTask, '{nope')).rejects.toMatchObject({
      sdkCode: SDK_CODE.invalidJson,
      reach: 'not_sent',
    });
    await expect(transport.invoke(ZONE_API.getProgramTaskResult, '{}')).rejects.toMatchObject({ reach: 'not_sent' });
    expect(fake?.count('sync_call_program')).toBe(0);
  });

  it('never puts a secret key, chat text, the corp secret or a token into an error or a log line', async () => {
    const { transport, log } = await setUp(emulatorRelay());
    for (const errcode of RELAY_ERRCODE_TABLE.keys()) {
      fake?.refuseChatdata(errcode);
      await transport
        .invoke(ZONE_API.createProgramTask, JSON.stringify(DOC_EXAMPLE_REQUEST))
        .catch((error: Error) => log.error(error.message));
    }
    const text = JSON.stringify(log.lines);
    for (const secret of [...SECRETS_AND_CHAT, CORP_SECRET, ...(fake?.issuedTokens ?? [])])
      expect(text).not.toContain(secret);
  });
});

describe('the relay protocol samples', () => {
  it('hold every key of the create request and both answers, and the debug content', () => {
    const files = Object.fromEntries(relayProtocolFiles().map((file) => [file.name, file.sample]));
    expect(
      protocolMismatch({ ...DOC_EXAMPLE_REQUEST, escape_type: 1 }, files['invoke_create_program_task.input.json']),
    ).toBeUndefined();
    expect(protocolMismatch({ jobid: 'J' }, files['invoke_get_program_task_result.input.json'])).toBeUndefined();
    // A key the protocol does not declare is what WeCom refuses with 790016: the matcher must see it.
    expect(protocolMismatch({ jobid: 'J', extra: 1 }, files['invoke_get_program_task_result.input.json'])).toMatch(
      /extra/,
    );
  });
});

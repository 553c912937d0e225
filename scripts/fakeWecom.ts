/**
 * `npm run fake-wecom`: the fake WeCom HTTPS API (test/support/fakeWecomApi.ts) and the zone emulator
 * as long-running servers, to try the relay road on one machine (docs/reach-your-corp.md, "Try the
 * whole road here"). Nothing reaches WeCom. Settings (all optional):
 *   FAKE_WECOM_PORT (4100), ZONE_PORT (4000), RELAY_URL (http://127.0.0.1:8080/),
 *   FAKE_CORP_ID (ww-fake-corp), FAKE_CORP_SECRET (fake-corp-secret), FAKE_RELAY_PROGRAM_ID (RELAY_PROGRAM)
 * Stops on SIGINT / SIGTERM.
 */
import { onStopSignal } from '../lib/shared/signals.js';
import { ZoneEmulator } from '../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../lib/zone/emulator/sample.js';
import { serveEmulator } from '../lib/zone/emulator/server.js';
import { startFakeWecomApi } from '../test/support/fakeWecomApi.js';

const env = process.env;
const emulator = new ZoneEmulator({
  archive: SAMPLE_ARCHIVE,
  programs: samplePrograms(Number(env.ZONE_PROGRAM_LATENCY_MS ?? 3000)),
});
const zone = await serveEmulator(emulator, { port: Number(env.ZONE_PORT ?? 4000), host: '127.0.0.1' });
const fake = await startFakeWecomApi({
  port: Number(env.FAKE_WECOM_PORT ?? 4100),
  corpId: env.FAKE_CORP_ID ?? 'ww-fake-corp',
  corpSecret: env.FAKE_CORP_SECRET ?? 'fake-corp-secret',
  emulator,
  relay: { programId: env.FAKE_RELAY_PROGRAM_ID ?? 'RELAY_PROGRAM', url: env.RELAY_URL ?? 'http://127.0.0.1:8080/' },
});
process.stderr.write(`zone emulator listening on ${zone.url} (the relay's FAKE_SDK_ZONE_URL)\n`);
process.stderr.write(`fake WeCom API listening on ${fake.url} (WECOM_API_BASE_URL)\n`);
onStopSignal(() => Promise.all([fake.close(), zone.close()]));

/**
 * Crash safety of `npm start` on its durable store, as a user would meet it: the real `npm start`
 * process tree, killed with SIGKILL (or stopped with SIGTERM) while tasks are pending and polls are
 * in flight, then started again on the same data directory.
 *
 * The zone is an emulator served over HTTP from this test process, i.e. outside the server, as
 * WeCom's zone is: it keeps its jobs across the server's death (the embedded emulator would die with
 * the server and forget them), and it counts every create_program_task and every poll in flight.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZONE_API } from '../../lib/protocol/zone.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { type ServedEmulator, serveEmulator } from '../../lib/zone/emulator/server.js';
import { DOC_EXAMPLE_REQUEST, waitFor } from '../support/fixtures.js';
import { ROOT } from '../support/processes.js';

/** The emulator, counting the zone calls in flight right now. */
class ObservedZone extends ZoneEmulator {
  readonly inFlight: Record<string, number> = {};
  override async invoke(apiName: string, requestJson: string): Promise<string> {
    this.inFlight[apiName] = (this.inFlight[apiName] ?? 0) + 1;
    try {
      return await super.invoke(apiName, requestJson);
    } finally {
      this.inFlight[apiName] = (this.inFlight[apiName] ?? 1) - 1;
    }
  }
}

const PROGRAM_LATENCY_MS = 2500;
const EARLY_TASKS = 10;
const MID_FLIGHT_TASKS = 50;

interface Server {
  child: ChildProcess;
  url: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `npm start` in its own process group, so the whole tree (npm, tsx, node) can be signalled as one. */
async function npmStart(dataDir: string, zoneUrl: string): Promise<Server> {
  const child = spawn('npm', ['start', '--silent'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PORT: '0',
      DATA_DIR: dataDir,
      ZONE_BRIDGE_URL: zoneUrl,
      POLL_FIRST_DELAY_SECONDS: '0',
      POLL_MIN_WAIT_SECONDS: '1',
      POLL_MAX_WAIT_SECONDS: '1',
      POLL_JITTER: '0',
      // A claim of the killed process blocks its task this long after the restart.
      POLL_LEASE_SECONDS: '2',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`npm start exited: ${stderr}`);
    return /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
  }, 30_000);
  return { child, url, stdout: () => stdout, stderr: () => stderr, exited };
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The node process of the tree that runs the server (start.ts under the tsx loader), from /proc. */
function serverPid(root: number): number {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const below = (pid: number): boolean => pid === root || (parents.has(pid) && pid > 1 && below(parents.get(pid) ?? 1));
  for (const pid of parents.keys()) {
    if (pid === root || !below(pid)) continue;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (cmdline.includes('lib/local/start.ts') && cmdline.some((arg) => arg.includes('tsx/dist/loader'))) return pid;
  }
  throw new Error('the server process of npm start was not found');
}

/**
 * SIGKILL: the whole tree at once, as the kernel's OOM killer or a power cut would. SIGTERM: the
 * server process, as a process manager stops a service (a signal to the whole group would also reach
 * tsx, which relays it again: how `npm start` handles a repeated signal is not what this test is about).
 */
async function signalGroup(
  server: Server,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const pid = server.child.pid ?? 0;
  if (signal === 'SIGKILL') process.kill(-pid, signal);
  else process.kill(serverPid(pid), signal);
  const exit = await server.exited;
  // Every process of the tree is gone: nothing holds the data directory.
  await waitFor(async () => (groupAlive(pid) ? undefined : true), 10_000);
  return exit;
}

async function submit(url: string, key: string): Promise<{ status: number; jobid: string; replayed: string | null }> {
  const response = await fetch(`${url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(DOC_EXAMPLE_REQUEST),
  });
  const body = (await response.json()) as { jobid: string };
  return { status: response.status, jobid: body.jobid, replayed: response.headers.get('idempotent-replayed') };
}

async function view(url: string, jobid: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}/tasks/${jobid}`);
  if (response.status !== 200) throw new Error(`GET /tasks/${jobid} answered ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}

async function allTerminal(url: string, jobids: string[]): Promise<Record<string, unknown>[]> {
  return waitFor(
    async () => {
      const views = await Promise.all(jobids.map((jobid) => view(url, jobid)));
      return views.every((task) => task.status !== 'PENDING') ? views : undefined;
    },
    45_000,
    250,
  );
}

/** `task finished` log lines per jobid: one per completion written. */
function completionsLogged(...outputs: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of outputs.join('\n').split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { message?: string; jobid?: string };
    if (entry.message === 'task finished' && entry.jobid) counts.set(entry.jobid, (counts.get(entry.jobid) ?? 0) + 1);
  }
  return counts;
}

describe.each([
  ['SIGKILL', 'killed'],
  ['SIGTERM', 'stopped'],
] as const)('npm start %s mid-flight, then started again on the same data directory', (signal, verb) => {
  let zone: ObservedZone;
  let served: ServedEmulator;
  let dataDir: string;
  const servers: Server[] = [];
  const wal = () => join(dataDir, 'wecom-zone-tasks.sqlite-wal');

  beforeAll(async () => {
    zone = new ObservedZone({
      archive: SAMPLE_ARCHIVE,
      programs: samplePrograms(PROGRAM_LATENCY_MS),
      faults: { latencyMs: 100 },
    });
    served = await serveEmulator(zone);
    dataDir = mkdtempSync(join(tmpdir(), 'wzt-crash-'));
  });
  afterAll(async () => {
    for (const server of servers)
      if (server.child.pid && groupAlive(server.child.pid)) process.kill(-server.child.pid, 'SIGKILL');
    await served.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`${verb} with ${MID_FLIGHT_TASKS} tasks pending and polls in flight: every task ends once, no zone task is created twice, earlier jobids read back`, async () => {
    const first = await npmStart(dataDir, served.url);
    servers.push(first);

    // Tasks that ended before the crash: their records must come back unchanged.
    const early = await Promise.all(Array.from({ length: EARLY_TASKS }, (_, i) => submit(first.url, `early-${i}`)));
    const earlyViews = await allTerminal(
      first.url,
      early.map((task) => task.jobid),
    );

    const midFlight = await Promise.all(
      Array.from({ length: MID_FLIGHT_TASKS }, (_, i) => submit(first.url, `mid-${i}`)),
    );
    expect([...early, ...midFlight].map((task) => task.status)).toEqual(
      Array(EARLY_TASKS + MID_FLIGHT_TASKS).fill(202),
    );
    const beforeStop = await Promise.all(midFlight.map((task) => view(first.url, task.jobid)));
    // Polls in flight: the server is inside get_program_task_result for some tasks right now.
    await waitFor(async () => ((zone.inFlight[ZONE_API.getProgramTaskResult] ?? 0) > 0 ? true : undefined), 10_000, 1);
    await signalGroup(first, signal);
    expect(beforeStop.filter((task) => task.status === 'PENDING').length).toBe(MID_FLIGHT_TASKS);
    // SQLite removes its write-ahead log when the database is closed: a SIGTERM closes it cleanly
    // (after the polls in flight ended), a SIGKILL leaves it for the next start to recover.
    expect(existsSync(wal()), first.stderr()).toBe(signal === 'SIGKILL');

    const second = await npmStart(dataDir, served.url);
    servers.push(second);
    if (signal === 'SIGKILL') {
      // The poll messages the killed process was holding are back in the queue at once.
      expect(
        Number(/(\d+) poll messages of the previous run back in the queue/.exec(second.stderr())?.[1] ?? 0),
      ).toBeGreaterThan(0);
    }
    const jobids = [...early, ...midFlight].map((task) => task.jobid);
    const views = await allTerminal(second.url, jobids);

    // 0 lost: every task is there and ended as the zone's program reported.
    expect(views.map((task) => task.status)).toEqual(Array(jobids.length).fill('SUCCEEDED'));
    expect(views.slice(0, EARLY_TASKS)).toEqual(earlyViews);
    // Each zone create made once: one zone job per task, no more.
    expect(new Set(jobids).size).toBe(jobids.length);
    expect(zone.calls[ZONE_API.createProgramTask]).toBe(jobids.length);
    expect(zone.jobCount).toBe(jobids.length);
    // 0 doubled: at most one completion written per task, over both runs.
    const completions = completionsLogged(first.stdout(), second.stdout());
    expect([...completions.values()].filter((count) => count > 1)).toEqual([]);
    expect([...completions.keys()].every((jobid) => jobids.includes(jobid))).toBe(true);
    // The idempotency keys survived too: a client retry gets the same jobid, the zone no new task.
    const retried = await Promise.all(midFlight.slice(0, 5).map((_, i) => submit(second.url, `mid-${i}`)));
    expect(retried).toEqual(
      midFlight.slice(0, 5).map((task) => ({ status: 202, jobid: task.jobid, replayed: 'true' })),
    );
    expect(zone.calls[ZONE_API.createProgramTask]).toBe(jobids.length);

    await signalGroup(second, 'SIGTERM');
    expect(existsSync(wal()), second.stderr()).toBe(false);
  }, 120_000);
});

/**
 * An emulator of WeCom's Data & Intelligence Zone for the `create_program_task` /
 * `get_program_task_result` pair (WeCom doc 53659, `docs/zone-protocol.md`). It resolves each
 * msgid with its key against an archive, renders the chat into the ability's input protocol with the
 * shared render functions, runs the ability's program, and answers polls as WeCom does. It is also
 * the in-process zone transport. It logs nothing: it holds chat text.
 */

import { randomBytes } from 'node:crypto';
import { ERRCODE, isSdkCode, SDK_CODE } from '../../protocol/errcodes.js';
import {
  type CreateFailMsg,
  CreateProgramTaskRequestSchema,
  type CreateProgramTaskResponseWire,
  GetProgramTaskResultRequestSchema,
  type GetProgramTaskResultResponseWire,
  MAX_MESSAGES_PER_TASK,
  type ProgramReport,
  ProgramReportSchema,
  type ResultFailMsg,
  ZONE_API,
} from '../../protocol/zone.js';
import { jsonProtocolMismatch } from '../../render/protocolMatch.js';
import { type ChatLine, debugPlaceholderValues, placeholderValues, renderInput } from '../../render/render.js';
import { ZoneTransportError } from '../errors.js';
import type { ZoneInvokeContext, ZoneTransport } from '../port.js';
import { BUILTIN_PROGRAMS } from './builtinPrograms.js';
import {
  type AbilityConfig,
  ANALYSABLE_MSGTYPES,
  type ArchivedMessage,
  ArchiveFileSchema,
  archiveKey,
  type ProgramConfigInput,
  ProgramsFileSchema,
} from './config.js';

/** A program call: what the zone POSTs to an analysis program. */
export interface ProgramCall {
  ability_id: string;
  /** Opaque: ties the program's report to the task. */
  job_info: string;
  /** The rendered input, in the ability's input protocol. */
  data: string;
}

/**
 * Runs an analysis program. It may return its report at once, or return nothing and report later
 * through {@link ZoneEmulator.programAsyncJobCallBack}.
 */
export type ProgramRunner = (call: ProgramCall, ability: AbilityConfig) => Promise<ProgramReport | undefined>;

export interface ZoneEmulatorOptions {
  archive: readonly ArchivedMessage[];
  programs: readonly ProgramConfigInput[];
  /** Debug mode: `debug_info` replaces the placeholders and `msg_list` is ignored. */
  debug?: boolean;
  /** How long results can be fetched (default 24 h); later the jobid answers 701151. */
  retentionSeconds?: number;
  /** errcode of a duplicated msgid at creation (WeCom's table: 710613; the doc's example shows 710601). */
  duplicateErrcode?: number;
  /** Runs programs whose handler is `http` (see `externalProgram.ts`); built-ins need none. */
  runExternal?: ProgramRunner;
  /** Fault knobs, so the poller's behaviour under a slow or failing zone can be shown. */
  faults?: ZoneFaults;
  now?: () => number;
}

export interface ZoneFaults {
  /** Added to every interface call. */
  latencyMs?: number;
  /** Fraction of interface calls (0..1) answered with one of `errcodes` instead. */
  errorRate?: number;
  /**
   * Drawn from at random: WeCom errcodes (-1 busy, 45009 frequency limit...) are answered as
   * `{errcode, errmsg}`; SDK codes (-10002 network failure...) fail the call itself.
   */
  errcodes?: readonly number[];
  /** Deterministic draws for tests. */
  random?: () => number;
  /**
   * WeCom's per-corp limit: at most `limit` calls per fixed window; past it every call of the window
   * is answered 45009, as WeCom blocks a corp for the rest of the window.
   */
  rateLimit?: { windowSeconds: number; limit: number };
}

/** Injected faults answer with these unless configured otherwise. */
export const DEFAULT_FAULT_ERRCODES: readonly number[] = [
  ERRCODE.systemBusy,
  ERRCODE.frequencyLimit,
  SDK_CODE.networkFailure,
];

type JobState =
  | { kind: 'running' }
  | { kind: 'reported'; report: ProgramReport }
  | { kind: 'failed'; errcode: number; errmsg: string };

interface Job {
  jobid: string;
  /** The corp that created it: another corp's poll finds no such jobid. */
  corpId?: string;
  jobInfo: string;
  ability: AbilityConfig;
  createdAt: number;
  failList: ResultFailMsg[];
  state: JobState;
}

const PENDING_ERRMSG = 'waiting for the program to return a result';

export class ZoneEmulator implements ZoneTransport {
  /** Calls per interface, for tests and benchmarks that count zone calls. */
  readonly calls: Record<string, number> = {};
  /** Faults injected so far. */
  faultsInjected = 0;
  /** Calls answered 45009 because the rate limit was exceeded. */
  rateLimited = 0;
  readonly #windowCalls = new Map<number, number>();

  readonly #archive: Map<string, ArchivedMessage>;
  readonly #abilities = new Map<string, Map<string, AbilityConfig>>();
  readonly #jobs = new Map<string, Job>();
  readonly #jobsByInfo = new Map<string, Job>();
  readonly #options: ZoneEmulatorOptions;
  readonly #now: () => number;

  constructor(options: ZoneEmulatorOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    // A wrong configuration fails here, naming the field, not later inside a task.
    const archive = ArchiveFileSchema.shape.messages.parse(options.archive);
    const programs = ProgramsFileSchema.shape.programs.parse(options.programs);
    this.#archive = new Map(archive.map((message) => [archiveKey(message.corp_id, message.msgid), message]));
    for (const program of programs) {
      this.#abilities.set(
        program.program_id,
        new Map(program.abilities.map((ability) => [ability.ability_id, ability])),
      );
    }
  }

  /** Jobs created and still kept: what a test counts to prove no task was created twice. */
  get jobCount(): number {
    return this.#jobs.size;
  }

  /**
   * The vendor SDK's `Invoke(apiName, requestJson) → responseJson`. `context.corpId`: the corp calling
   * (each corp has its own zone): its messages and jobs only.
   */
  async invoke(apiName: string, requestJson: string, context?: ZoneInvokeContext): Promise<string> {
    let request: unknown;
    try {
      request = JSON.parse(requestJson);
    } catch {
      throw new ZoneTransportError(SDK_CODE.invalidJson, `${apiName}: the request is not valid JSON`);
    }
    this.calls[apiName] = (this.calls[apiName] ?? 0) + 1;
    const fault = await this.#injectFault();
    if (fault !== undefined) {
      if (isSdkCode(fault)) {
        throw new ZoneTransportError(fault, `${apiName}: injected transport failure`);
      }
      return JSON.stringify({ errcode: fault, errmsg: 'injected fault' });
    }
    switch (apiName) {
      case ZONE_API.createProgramTask:
        return JSON.stringify(this.createProgramTask(request, context?.corpId));
      case ZONE_API.getProgramTaskResult:
        return JSON.stringify(this.getProgramTaskResult(request, context?.corpId));
      default:
        throw new ZoneTransportError(SDK_CODE.unknownApi, `unknown zone API: ${apiName}`);
    }
  }

  createProgramTask(body: unknown, corpId?: string): CreateProgramTaskResponseWire {
    const parsed = CreateProgramTaskRequestSchema.safeParse(body);
    if (!parsed.success) {
      const tooMany = parsed.error.issues.some(
        (issue) => issue.code === 'too_big' && issue.path.length === 1 && issue.path[0] === 'msg_list',
      );
      if (tooMany)
        return failure(ERRCODE.tooManyMessages, `msg_list holds more than ${MAX_MESSAGES_PER_TASK} messages`);
      const issue = parsed.error.issues[0];
      return failure(
        ERRCODE.invalidParameter,
        `invalid parameter ${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}`,
      );
    }
    const request = parsed.data;
    const abilities = this.#abilities.get(request.program_id);
    if (!abilities) return failure(ERRCODE.programNotFound, `program ${request.program_id} not found`);
    const ability = abilities.get(request.ability_id);
    if (!ability) return failure(ERRCODE.abilityNotFound, `ability ${request.ability_id} not found`);

    // Duplicates: the first occurrence wins; each later one is echoed back with its key.
    const seen = new Set<string>();
    const unique: typeof request.msg_list = [];
    const duplicates: CreateFailMsg[] = [];
    for (const message of request.msg_list) {
      if (seen.has(message.msgid)) {
        duplicates.push({
          errcode: this.#options.duplicateErrcode ?? ERRCODE.msgidDuplicated,
          errmsg: 'msgid duplicated',
          msgid: message.msgid,
          encrypt_info: { secret_key: message.encrypt_info.secret_key },
        });
      } else {
        seen.add(message.msgid);
        unique.push(message);
      }
    }

    const failList: ResultFailMsg[] = [];
    const lines: ChatLine[] = [];
    if (!this.#options.debug) {
      for (const { msgid, encrypt_info } of unique) {
        const archived =
          (corpId === undefined ? undefined : this.#archive.get(archiveKey(corpId, msgid))) ??
          this.#archive.get(archiveKey(undefined, msgid));
        if (!archived) failList.push({ errcode: ERRCODE.msgidInvalid, errmsg: 'msgid not found', msgid });
        else if (archived.secret_key !== encrypt_info.secret_key) {
          failList.push({ errcode: ERRCODE.secretKeyInvalid, errmsg: 'secret_key incorrect', msgid });
        } else if (!ANALYSABLE_MSGTYPES.has(archived.msgtype)) {
          failList.push({ errcode: ERRCODE.msgtypeUnsupported, errmsg: 'msgtype not supported', msgid });
        } else lines.push({ sender: archived.sender, text: archived.text ?? archived.transcript ?? '' });
      }
    }

    const values = this.#options.debug ? debugPlaceholderValues(request.debug_info) : placeholderValues(lines);
    const data = renderInput(ability.input_protocol, values, request.escape_type);
    if (lines.length > 0 || this.#options.debug) {
      // The reason names keys of the rendered input, which may be chat text: it stays in the zone.
      if (jsonProtocolMismatch(data, JSON.parse(ability.input_protocol))) {
        return failure(ERRCODE.inputProtocolMismatch, 'the rendered input does not match the input protocol');
      }
    }

    const job: Job = {
      jobid: randomBytes(12).toString('base64url'),
      corpId,
      jobInfo: randomBytes(18).toString('base64url'),
      ability,
      createdAt: this.#now(),
      failList,
      state:
        lines.length === 0 && !this.#options.debug
          ? { kind: 'failed', errcode: ERRCODE.allMessagesFailed, errmsg: 'every message failed' }
          : { kind: 'running' },
    };
    this.#forgetExpired();
    this.#jobs.set(job.jobid, job);
    this.#jobsByInfo.set(job.jobInfo, job);
    if (job.state.kind === 'running') this.#run(job, data);
    return { errcode: ERRCODE.ok, errmsg: 'ok', jobid: job.jobid, fail_list: duplicates };
  }

  getProgramTaskResult(body: unknown, corpId?: string): GetProgramTaskResultResponseWire {
    const parsed = GetProgramTaskResultRequestSchema.safeParse(body);
    if (!parsed.success) return { ...failure(ERRCODE.invalidParameter, 'invalid parameter jobid'), fail_list: [] };
    const job = this.#liveJob(parsed.data.jobid);
    // Each corp has its own zone: a jobid of another corp is unknown here.
    if (!job || job.corpId !== corpId)
      return { errcode: ERRCODE.jobidInvalid, errmsg: 'jobid invalid or expired', fail_list: [] };
    const { state, failList } = job;
    if (state.kind === 'running')
      return { errcode: ERRCODE.resultPending, errmsg: PENDING_ERRMSG, fail_list: failList };
    if (state.kind === 'failed') return { errcode: state.errcode, errmsg: state.errmsg, fail_list: failList };
    return {
      errcode: ERRCODE.ok,
      errmsg: 'ok',
      fail_list: failList,
      response_errcode: state.report.errcode,
      response_data: state.report.result,
    };
  }

  /**
   * `program_async_job_call_back`: a program reports `{errcode, result}` for the job it was given.
   * An output that does not match the ability's output protocol fails the job with 790014.
   */
  programAsyncJobCallBack(body: unknown): { errcode: number; errmsg: string } {
    const parsed = ProgramReportSchema.extend({ job_info: GetProgramTaskResultRequestSchema.shape.jobid }).safeParse(
      body,
    );
    if (!parsed.success) return failure(ERRCODE.invalidParameter, 'expected {job_info, errcode, result}');
    const job = this.#jobsByInfo.get(parsed.data.job_info);
    if (!job || !this.#liveJob(job.jobid)) return failure(ERRCODE.jobidInvalid, 'job_info invalid or expired');
    if (job.state.kind !== 'running') return failure(ERRCODE.invalidParameter, 'the job has already been reported');
    this.#report(job, { errcode: parsed.data.errcode, result: parsed.data.result });
    return { errcode: ERRCODE.ok, errmsg: 'ok' };
  }

  /** Apply the latency knob; the errcode to answer with when a fault is drawn or the rate limit is hit. */
  async #injectFault(): Promise<number | undefined> {
    const faults = this.#options.faults;
    if (!faults) return undefined;
    if (faults.latencyMs) await delay(faults.latencyMs);
    if (faults.rateLimit) {
      const window = Math.floor(this.#now() / (faults.rateLimit.windowSeconds * 1000));
      const calls = (this.#windowCalls.get(window) ?? 0) + 1;
      this.#windowCalls.set(window, calls);
      for (const old of this.#windowCalls.keys()) if (old < window) this.#windowCalls.delete(old);
      if (calls > faults.rateLimit.limit) {
        this.rateLimited += 1;
        return ERRCODE.frequencyLimit;
      }
    }
    const random = faults.random ?? Math.random;
    if (!faults.errorRate || random() >= faults.errorRate) return undefined;
    const codes = faults.errcodes?.length ? faults.errcodes : DEFAULT_FAULT_ERRCODES;
    this.faultsInjected += 1;
    return codes[Math.floor(random() * codes.length)] ?? ERRCODE.systemBusy;
  }

  #report(job: Job, report: ProgramReport): void {
    if (report.errcode === ERRCODE.ok) {
      const mismatch = jsonProtocolMismatch(report.result, JSON.parse(job.ability.output_protocol));
      if (mismatch) {
        // Named for the program's author: the output's keys are the program's, not chat text.
        job.state = {
          kind: 'failed',
          errcode: ERRCODE.outputProtocolMismatch,
          errmsg: `program output does not match the output protocol: ${mismatch}`,
        };
        return;
      }
    }
    job.state = { kind: 'reported', report };
  }

  #run(job: Job, data: string): void {
    const { handler } = job.ability;
    const call: ProgramCall = { ability_id: job.ability.ability_id, job_info: job.jobInfo, data };
    const runner: ProgramRunner =
      handler.type === 'builtin'
        ? async () => {
            if (handler.latency_ms > 0) await delay(handler.latency_ms);
            return BUILTIN_PROGRAMS[handler.name](data);
          }
        : (this.#options.runExternal ?? missingExternalRunner);
    runner(call, job.ability).then(
      (report) => {
        if (report && job.state.kind === 'running') this.#report(job, report);
      },
      () => {
        if (job.state.kind === 'running') {
          job.state = { kind: 'failed', errcode: ERRCODE.programCallFailed, errmsg: 'calling the program failed' };
        }
      },
    );
  }

  #liveJob(jobid: string): Job | undefined {
    const job = this.#jobs.get(jobid);
    if (!job) return undefined;
    if (this.#expired(job)) {
      this.#forget(job);
      return undefined;
    }
    return job;
  }

  /**
   * Forget the jobs past their retention, oldest first: jobs are kept in creation order, so this
   * stops at the first live one (amortised O(1) per create). Memory stays flat however many tasks
   * pass through, also for jobs nobody polls again.
   */
  #forgetExpired(): void {
    for (const job of this.#jobs.values()) {
      if (!this.#expired(job)) return;
      this.#forget(job);
    }
  }

  #expired(job: Job): boolean {
    return this.#now() - job.createdAt > (this.#options.retentionSeconds ?? 86_400) * 1000;
  }

  #forget(job: Job): void {
    this.#jobs.delete(job.jobid);
    this.#jobsByInfo.delete(job.jobInfo);
  }
}

function failure(errcode: number, errmsg: string): { errcode: number; errmsg: string } {
  return { errcode, errmsg };
}

const missingExternalRunner: ProgramRunner = async () => {
  throw new Error('no runner for external programs was configured');
};

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * WeCom's 指令回调 (command callback) of a suite: the URL entered in the provider console, one per
 * suite, `GET|POST /wecom/callback/{suite_id}` (docs/many-corps.md).
 *
 * - GET: URL verification (doc 14961 §3.1): check `msg_signature` over (Token, timestamp, nonce,
 *   echostr), decrypt `echostr`, answer its plain text.
 * - POST: an encrypted XML envelope `<xml><ToUserName/><Encrypt/><AgentID/></xml>` (doc 14961 §3.2):
 *   the signature is checked over `Encrypt`, the message decrypted, its receiveid checked against the
 *   suite id (doc 12976, 附注), then the event handled and `success` answered (doc 14946):
 *   `suite_ticket` (doc 14947), `create_auth` / `change_auth` / `cancel_auth` (doc 14951),
 *   `reset_permanent_code` (doc 31408).
 *
 * Signatures and AES with WeCom's own `@wecom/crypto` (no crypto of ours). A request that fails the
 * signature, decryption or receiveid check is answered 4xx and touches nothing. Every event is
 * idempotent: a repeated ticket (same or older TimeStamp) changes nothing; a repeated create_auth or
 * reset_permanent_code (same AuthCode) is not exchanged twice (remembered, and WeCom answers 40078 to
 * a used code); cancel_auth of a cancelled corp changes nothing. The answer and the logs name the
 * suite, the event and the corp id, never a ticket, code, token or the decrypted text.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { decrypt, getSignature } from '@wecom/crypto';
import { XMLParser } from 'fast-xml-parser';
import * as z from 'zod';
import type { Log } from '../log.js';
import { ZoneTransportError } from '../zone/errors.js';
import type { CorpDirectory } from './directory.js';
import { type SuiteEntry, SuiteIdSchema } from './port.js';

export interface CallbackRequest {
  method: string;
  suiteId: string;
  query: Record<string, string | undefined>;
  body?: string;
}

export interface CallbackAnswer {
  statusCode: number;
  /** Plain text: `success`, the echostr, or what was wrong. */
  body: string;
}

const SignedQuerySchema = z.object({
  msg_signature: z.string({ error: 'required' }).regex(/^[0-9a-fA-F]{40}$/, 'must be 40 hex digits'),
  timestamp: z.string({ error: 'required' }).regex(/^\d{1,12}$/, 'must be epoch seconds'),
  nonce: z.string({ error: 'required' }).min(1, 'required').max(128),
});

const EnvelopeSchema = z.object({ xml: z.object({ Encrypt: z.string().min(1) }) });

const text = z.coerce.string().min(1);
/** The decrypted events handled here (docs 14947, 14951, 31408); others are acknowledged and ignored. */
export const SuiteEventSchema = z.discriminatedUnion('InfoType', [
  z.object({
    InfoType: z.literal('suite_ticket'),
    SuiteId: text,
    SuiteTicket: text,
    TimeStamp: z.coerce.number().int(),
  }),
  z.object({ InfoType: z.literal('create_auth'), SuiteId: text, AuthCode: text }),
  z.object({ InfoType: z.literal('reset_permanent_code'), SuiteId: text, AuthCode: text }),
  z.object({ InfoType: z.literal('change_auth'), SuiteId: text, AuthCorpId: text }),
  z.object({
    InfoType: z.literal('cancel_auth'),
    SuiteId: text,
    AuthCorpId: text,
    TimeStamp: z.coerce.number().int().optional(),
  }),
]);
export type SuiteEvent = z.output<typeof SuiteEventSchema>;

const parser = new XMLParser({ parseTagValue: false, processEntities: false, ignoreDeclaration: true });

export interface SuiteCallbackOptions {
  directory: CorpDirectory;
  logger: Log;
  now?: () => number;
}

/** What the callback route calls: one request in, one plain-text answer out. */
export interface CallbackReceiver {
  handle(request: CallbackRequest): Promise<CallbackAnswer>;
}

/** How far a callback's `timestamp` may be from our clock: WeCom retries within minutes. */
export const MAX_CALLBACK_AGE_SECONDS = 3600;

const answer = (statusCode: number, body: string): CallbackAnswer => ({ statusCode, body });

export class SuiteCallbackHandler implements CallbackReceiver {
  /** Digests of auth codes already exchanged (a repeated create_auth is not exchanged twice). */
  readonly #exchanged = new Set<string>();
  readonly #options: SuiteCallbackOptions;

  constructor(options: SuiteCallbackOptions) {
    this.#options = options;
  }

  async handle(request: CallbackRequest): Promise<CallbackAnswer> {
    const { logger } = this.#options;
    if (!SuiteIdSchema.safeParse(request.suiteId).success)
      return answer(400, 'suite_id: must be 1-64 of A-Z a-z 0-9 _ . -');
    const store = this.#options.directory.store;
    let suite: SuiteEntry | undefined;
    try {
      suite = await store.getSuite(request.suiteId);
    } catch {
      logger.error('suite credentials unreadable', { suiteId: request.suiteId });
      return answer(503, `suite ${request.suiteId}: its credentials could not be read; retry later`);
    }
    if (!suite) return answer(404, `suite ${request.suiteId} is not configured here`);
    const query = SignedQuerySchema.safeParse(request.query);
    if (!query.success) {
      const issue = query.error.issues[0];
      return answer(400, `${issue?.path.join('.')}: ${issue?.message}`);
    }
    const { msg_signature: signature, timestamp, nonce } = query.data;
    // The signature covers the timestamp: a captured request replayed later (an old cancel_auth after
    // the corp installed the app again) is refused by its age.
    const now = (this.#options.now ?? Date.now)();
    if (Math.abs(now / 1000 - Number(timestamp)) > MAX_CALLBACK_AGE_SECONDS) {
      logger.warn('callback refused: timestamp out of range', { suiteId: request.suiteId });
      return answer(400, `timestamp: more than ${MAX_CALLBACK_AGE_SECONDS} s from now (a replayed request?)`);
    }

    let encrypted: string;
    if (request.method === 'GET') {
      const echostr = request.query.echostr;
      if (!echostr) return answer(400, 'echostr: required');
      encrypted = echostr;
    } else if (request.method === 'POST') {
      const envelope = parseXml(request.body ?? '', EnvelopeSchema);
      if (!envelope) return answer(400, "body: expected WeCom's encrypted XML (<xml><Encrypt>…</Encrypt></xml>)");
      encrypted = envelope.xml.Encrypt;
    } else return answer(405, 'method: GET (URL verification) or POST (events) only');

    if (!sameSignature(getSignature(suite.token, timestamp, nonce, encrypted), signature)) {
      logger.warn('callback refused: bad signature', { suiteId: request.suiteId, method: request.method });
      return answer(401, 'msg_signature: does not match (wrong Token, or not sent by WeCom)');
    }
    let message: string;
    let receiveId: string;
    try {
      const decrypted = decrypt(suite.encoding_aes_key, encrypted);
      message = decrypted.message;
      receiveId = decrypted.id;
    } catch {
      logger.warn('callback refused: cannot decrypt', { suiteId: request.suiteId });
      return answer(400, 'Encrypt: cannot be decrypted with the EncodingAESKey');
    }
    if (request.method === 'GET') {
      logger.info('callback URL verified', { suiteId: request.suiteId });
      return answer(200, message);
    }
    // The receiveid of a third-party (or 代开发 template) event is the suite id (doc 12976, 附注).
    if (receiveId !== request.suiteId) {
      logger.warn('callback refused: receiveid is not the suite', { suiteId: request.suiteId });
      return answer(401, 'Encrypt: addressed to another receiver than this suite');
    }
    const raw = parseXml(message, z.object({ xml: z.record(z.string(), z.unknown()) }));
    const infoType = raw?.xml.InfoType;
    const event = SuiteEventSchema.safeParse(raw?.xml);
    if (!event.success) {
      // Other events of the command callback (contacts, tags...) are not ours: acknowledged, ignored.
      logger.info('callback event ignored', {
        suiteId: request.suiteId,
        infoType: typeof infoType === 'string' ? infoType : undefined,
      });
      return answer(200, 'success');
    }
    if (event.data.SuiteId !== request.suiteId)
      return answer(400, 'SuiteId: the event is for another suite than the URL names');
    try {
      await this.#handleEvent(request.suiteId, suite, event.data);
    } catch (error) {
      // Not `success`: WeCom retries the push (doc 14946), and every event is idempotent.
      const problem = error instanceof ZoneTransportError || error instanceof Error ? error.message : 'error';
      logger.error('callback event failed', { suiteId: request.suiteId, infoType: event.data.InfoType, problem });
      return answer(503, `${event.data.InfoType}: could not be handled (${problem}); WeCom will push it again`);
    }
    return answer(200, 'success');
  }

  async #handleEvent(suiteId: string, suite: SuiteEntry, event: SuiteEvent): Promise<void> {
    const { directory, logger } = this.#options;
    const store = directory.store;
    switch (event.InfoType) {
      case 'suite_ticket': {
        const current = await store.getTicket(suiteId, { forceFetch: true });
        // Idempotent and in order: a repeated or late push never replaces a newer ticket.
        if (current && current.timestamp >= event.TimeStamp) {
          logger.info('suite_ticket already current', { suiteId });
          return;
        }
        await store.putTicket(suiteId, { ticket: event.SuiteTicket, timestamp: event.TimeStamp });
        logger.info('suite_ticket stored', { suiteId });
        return;
      }
      case 'create_auth':
      case 'reset_permanent_code': {
        const digest = createHash('sha256').update(`${suiteId}\n${event.AuthCode}`).digest('hex');
        if (this.#exchanged.has(digest)) {
          logger.info('auth code already exchanged', { suiteId, infoType: event.InfoType });
          return;
        }
        let exchanged: { corpId: string; permanentCode: string };
        try {
          exchanged = await directory.suites.permanentCode(suiteId, event.AuthCode);
        } catch (error) {
          // 40078: the code was used already: a repeat of an event handled before (doc 10649).
          if (error instanceof ZoneTransportError && error.wecomErrcode === 40078) {
            logger.info('auth code already used; nothing changed', { suiteId, infoType: event.InfoType });
            return;
          }
          throw error;
        }
        const { corpId, permanentCode } = exchanged;
        const before = await store.getCorp(corpId, { forceFetch: true });
        const overrides = before?.status === 'active' ? pickOverrides(before) : {};
        await store.putCorp(
          corpId,
          suite.kind === 'custom_app'
            ? { kind: 'custom_app', status: 'active', suite_id: suiteId, secret: permanentCode, ...overrides }
            : { kind: 'third_party', status: 'active', suite_id: suiteId, permanent_code: permanentCode, ...overrides },
        );
        this.#exchanged.add(digest);
        // Bounded: a repeat comes within minutes; older codes are refused by WeCom anyway (40078).
        if (this.#exchanged.size > 1000) this.#exchanged.delete(this.#exchanged.values().next().value ?? '');
        directory.suites.forgetCorp(corpId);
        logger.info(event.InfoType === 'create_auth' ? 'corp authorised' : 'permanent code replaced', {
          suiteId,
          corpId,
          kind: suite.kind,
        });
        return;
      }
      case 'change_auth': {
        const entry = await store.getCorp(event.AuthCorpId, { forceFetch: true });
        if (entry?.status !== 'active' || entry.kind === 'self_built' || entry.suite_id !== suiteId) {
          logger.warn('change_auth for a corp this suite does not serve', { suiteId, corpId: event.AuthCorpId });
          return;
        }
        // What we keep (the permanent code) does not change; the corp's permissions may have: fresh tokens.
        directory.suites.forgetCorp(event.AuthCorpId);
        logger.info('corp authorisation changed; its tokens will be fetched afresh', {
          suiteId,
          corpId: event.AuthCorpId,
        });
        return;
      }
      case 'cancel_auth': {
        const entry = await store.getCorp(event.AuthCorpId, { forceFetch: true });
        if (entry?.status !== 'active') {
          logger.info('cancel_auth: corp already cancelled or unknown; nothing changed', {
            suiteId,
            corpId: event.AuthCorpId,
          });
          return;
        }
        if (entry.kind === 'self_built' || entry.suite_id !== suiteId) {
          logger.warn('cancel_auth for a corp of another suite ignored', { suiteId, corpId: event.AuthCorpId });
          return;
        }
        // The secret goes (doc 14951: delete the corp's data); the entry stays, so tasks are refused by name.
        await store.putCorp(event.AuthCorpId, {
          kind: entry.kind,
          status: 'deauthorised',
          suite_id: suiteId,
          deauthorised_at: new Date((this.#options.now ?? Date.now)()).toISOString(),
        });
        directory.suites.forgetCorp(event.AuthCorpId);
        logger.info('corp deauthorised; its secrets removed', { suiteId, corpId: event.AuthCorpId });
        return;
      }
    }
  }
}

function pickOverrides(entry: Record<string, unknown>): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const field of [
    'relay_program_id',
    'relay_create_ability_id',
    'relay_result_ability_id',
    'zone_program_id',
    'zone_ability_id',
  ]) {
    const value = entry[field];
    if (typeof value === 'string') picked[field] = value;
  }
  return picked;
}

function parseXml<S extends z.ZodType>(xml: string, schema: S): z.output<S> | undefined {
  if (!xml.trim()) return undefined;
  try {
    const parsed = schema.safeParse(parser.parse(xml));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Constant-time comparison of two hex signatures (letter case ignored). */
function sameSignature(expected: string, given: string): boolean {
  const a = Buffer.from(expected.toLowerCase());
  const b = Buffer.from(given.toLowerCase());
  return a.length === b.length && timingSafeEqual(a, b);
}

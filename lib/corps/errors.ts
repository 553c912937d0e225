/**
 * The errors of serving many corps (docs/many-corps.md). {@link CorpNotServedError} is public: the
 * API answers it 400 / 404 / 403 naming the corp id (lib/api/errors.ts), an event source drops the
 * request. {@link CredentialStoreError} is internal: it names a parameter or file, never a value.
 */
import { ServiceError } from '../errors.js';

/** A credential store could not be read or written (never says a value). */
export class CredentialStoreError extends Error {
  override readonly name = 'CredentialStoreError';
}

/**
 * A request names a corp this deployment cannot serve. Its message names the corp id (an id, not a
 * secret) and what to do; the API answers it as a 4xx.
 */
export class CorpNotServedError extends ServiceError {
  override readonly name: string = 'CorpNotServedError';
  /** 400: the request must name a corp; 404: no such corp here; 403: the corp withdrew the app. */
  get statusCode(): number {
    return this.code === 'corp_required' ? 400 : this.code === 'unknown_corp' ? 404 : 403;
  }
  constructor(
    /** `corp_required`: several corps and the request named none; `unknown_corp`; `corp_deauthorised`. */
    readonly code: 'corp_required' | 'unknown_corp' | 'corp_deauthorised',
    readonly corpId: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

export function corpRequired(): CorpNotServedError {
  return new CorpNotServedError(
    'corp_required',
    undefined,
    'corp_id: required: this deployment serves several corps; name the corp the task is for',
  );
}

export function unknownCorp(corpId: string): CorpNotServedError {
  return new CorpNotServedError(
    'unknown_corp',
    corpId,
    `corp_id: corp ${corpId} is not served by this deployment (no credentials for it)`,
  );
}

export function corpDeauthorised(corpId: string): CorpNotServedError {
  return new CorpNotServedError(
    'corp_deauthorised',
    corpId,
    `corp_id: corp ${corpId} cancelled its authorisation of the app (cancel_auth); its tasks are refused`,
  );
}

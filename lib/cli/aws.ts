/**
 * What the command line needs of AWS: the region and credentials from the default chains, SigV4
 * signing for the deployed API (IAM authorization, service `execute-api`), and one clear error when
 * no credentials are found. The signer is the SDK's own (`@smithy/signature-v4`), the credentials
 * come from `fromNodeProviderChain` (environment, shared config and SSO profiles, web identity,
 * container and instance roles), the region from the SDK's config loader.
 * Signing: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { loadConfig, NODE_REGION_CONFIG_FILE_OPTIONS, NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';
import { SignatureV4 } from '@smithy/signature-v4';
import { executeApiRegion } from './awsHosts.js';
import { printable } from './client.js';

type CredentialsProvider = ReturnType<typeof fromNodeProviderChain>;
type Credentials = Awaited<ReturnType<CredentialsProvider>>;

/** No credentials, or no region: nothing was sent. Exit 1 with the message. */
export class AwsSetupError extends Error {
  override readonly name = 'AwsSetupError';
}

const NO_CREDENTIALS_HELP =
  'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or AWS_PROFILE for a profile of ~/.aws/config (aws configure, aws sso login), or run where an IAM role is attached';

/** Whether an SDK error says that no credentials could be loaded. */
export function isCredentialsError(error: unknown): boolean {
  const name = (error as Error | undefined)?.name;
  return name === 'CredentialsProviderError' || name === 'TokenProviderError';
}

/** The error a user sees when the credential chain finds nothing. */
export function noCredentials(what: string, error: unknown): AwsSetupError {
  const reason = printable(String((error as Error | undefined)?.message ?? ''), 200);
  return new AwsSetupError(
    `${what}: no AWS credentials found (${reason || 'none of the default providers had any'}); ${NO_CREDENTIALS_HELP}`,
  );
}

/**
 * The region: given, else `AWS_REGION`, `AWS_DEFAULT_REGION` (the AWS CLI's), else the profile's
 * `region` in ~/.aws/config; undefined when none says.
 */
export async function defaultRegion(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const fromEnv = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (fromEnv) return fromEnv;
  try {
    return await loadConfig(NODE_REGION_CONFIG_OPTIONS, NODE_REGION_CONFIG_FILE_OPTIONS)();
  } catch {
    return undefined;
  }
}

/** What a request looks like to the signer, and the headers to send with it. */
export interface RequestToSign {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

export interface RequestSigner {
  /** The headers to send: the request's own plus `authorization`, `x-amz-date`, `x-amz-content-sha256` (and `x-amz-security-token`). */
  sign(request: RequestToSign): Promise<Record<string, string>>;
}

export interface SigV4Options {
  /** Default: the URL's (execute-api host), else {@link defaultRegion}. */
  region?: string;
  env?: NodeJS.ProcessEnv;
  /** Default: the SDK's default chain (`fromNodeProviderChain`). */
  credentials?: CredentialsProvider;
  /** For tests: the signing time. */
  now?: () => Date;
}

/**
 * SigV4 for API Gateway's IAM authorization: service `execute-api`, the payload hashed into the
 * signature, the `host` header signed as fetch will send it. Credentials and region are resolved on
 * the first request (then cached by the provider until they expire).
 *
 * @throws {AwsSetupError} when no credentials or no region are found (nothing is sent)
 */
export function sigv4Signer(options: SigV4Options = {}): RequestSigner {
  const env = options.env ?? process.env;
  const credentials = options.credentials ?? fromNodeProviderChain();
  let signer: Promise<SignatureV4> | undefined;
  const make = async (url: URL): Promise<SignatureV4> => {
    const region = options.region ?? executeApiRegion(url) ?? (await defaultRegion(env));
    if (!region)
      throw new AwsSetupError(
        '--sigv4: no AWS region: give --region, or set AWS_REGION (an execute-api URL names its own)',
      );
    return new SignatureV4({
      service: 'execute-api',
      region,
      credentials: resolvedCredentials(credentials),
      sha256: Sha256,
    });
  };
  return {
    async sign({ method, url, headers, body }) {
      signer ??= make(url);
      const signed = await (await signer).sign(
        {
          method,
          protocol: url.protocol,
          hostname: url.hostname,
          port: url.port === '' ? undefined : Number(url.port),
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          headers: { ...headers, host: url.host },
          body,
        },
        options.now ? { signingDate: options.now() } : {},
      );
      // fetch sets Host from the URL itself (the same value that was signed).
      const { host: _host, ...toSend } = signed.headers;
      return toSend;
    },
  };
}

/** The provider, with "nothing found" turned into the message a user can act on. */
function resolvedCredentials(provider: CredentialsProvider): () => Promise<Credentials> {
  return async () => {
    try {
      return await provider();
    } catch (error) {
      if (isCredentialsError(error)) throw noCredentials('--sigv4', error);
      throw error;
    }
  };
}

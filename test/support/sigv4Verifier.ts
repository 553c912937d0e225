/**
 * An independent SigV4 verifier, written from AWS's specification with node:crypto only (no AWS
 * package), as API Gateway's IAM authorization checks a request: it rebuilds the canonical request
 * from the request *as received* (method, raw path, query, the signed headers' raw values, the body's
 * bytes), derives the signing key from the secret it holds, and compares signatures in constant time.
 * Checked against AWS's published test vector (get-vanilla) in test/e2e/cliSigv4.test.ts.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface SigningSecret {
  secretAccessKey: string;
  /** When the credentials are temporary: the request must carry and sign this x-amz-security-token. */
  sessionToken?: string;
}

export interface ReceivedRequest {
  method: string;
  /** The request target as sent: path and query, still percent-encoded. */
  target: string;
  /** Raw header lines as received: [name, value, name, value, ...] (node's `rawHeaders`). */
  rawHeaders: string[];
  body: Buffer;
}

export interface VerifyOptions {
  secrets: ReadonlyMap<string, SigningSecret>;
  service: string;
  region: string;
  now?: Date;
  /** Allowed clock difference (AWS: 5 minutes). */
  maxSkewMs?: number;
}

export type Verdict = { ok: true; accessKeyId: string; signedHeaders: string[] } | { ok: false; reason: string };

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** RFC 3986 unreserved characters stay; everything else is %XX, upper-case hex. */
function uriEncode(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((byte) => {
      const char = String.fromCharCode(byte);
      return /[A-Za-z0-9\-._~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

/** Services other than S3 encode each path segment once more (the path as sent is encoded once). */
function canonicalUri(rawPath: string): string {
  if (rawPath === '' || rawPath === '/') return '/';
  return rawPath
    .split('/')
    .map((segment) => uriEncode(segment))
    .join('/');
}

function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs = rawQuery.split('&').map((pair) => {
    const [name = '', value = ''] = pair.split('=');
    const decode = (text: string) => decodeURIComponent(text.replace(/\+/g, '%20'));
    return [uriEncode(decode(name)), uriEncode(decode(value))] as const;
  });
  pairs.sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : av > bv ? 1 : 0) : a < b ? -1 : 1));
  return pairs.map(([name, value]) => `${name}=${value}`).join('&');
}

/** Header values by lower-case name, in order; several lines of one name are joined with ",". */
function headerMap(rawHeaders: string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    map.set(name, [...(map.get(name) ?? []), rawHeaders[i + 1] as string]);
  }
  return map;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/** Verify one received request's SigV4 `Authorization` header. */
export function verifySigV4(request: ReceivedRequest, options: VerifyOptions): Verdict {
  const headers = headerMap(request.rawHeaders);
  const one = (name: string) => headers.get(name)?.join(',');
  const authorization = one('authorization');
  if (!authorization) return { ok: false, reason: 'no Authorization header' };
  const match = AUTHORIZATION.exec(authorization);
  if (!match) return { ok: false, reason: 'Authorization is not an AWS4-HMAC-SHA256 header' };
  const [, accessKeyId = '', scopeDate = '', region, service, signedHeaderList = '', signature = ''] = match;
  const secret = options.secrets.get(accessKeyId);
  if (!secret) return { ok: false, reason: 'unknown access key' };
  if (region !== options.region || service !== options.service)
    return { ok: false, reason: `scope is ${region}/${service}` };
  const amzDate = one('x-amz-date');
  if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== scopeDate)
    return { ok: false, reason: 'x-amz-date missing or not the scope date' };
  const signedAt = Date.UTC(
    +amzDate.slice(0, 4),
    +amzDate.slice(4, 6) - 1,
    +amzDate.slice(6, 8),
    +amzDate.slice(9, 11),
    +amzDate.slice(11, 13),
    +amzDate.slice(13, 15),
  );
  if (Math.abs((options.now ?? new Date()).getTime() - signedAt) > (options.maxSkewMs ?? 5 * 60_000))
    return { ok: false, reason: 'signature expired' };
  const signedHeaders = signedHeaderList.split(';');
  if (signedHeaders.join(';') !== [...signedHeaders].sort().join(';'))
    return { ok: false, reason: 'SignedHeaders not sorted' };
  for (const required of ['host', 'x-amz-date'])
    if (!signedHeaders.includes(required)) return { ok: false, reason: `${required} not signed` };
  if (secret.sessionToken !== undefined) {
    if (one('x-amz-security-token') !== secret.sessionToken || !signedHeaders.includes('x-amz-security-token'))
      return { ok: false, reason: 'session token missing or not signed' };
  }
  const payloadHash = sha256(request.body);
  const claimedHash = one('x-amz-content-sha256');
  if (claimedHash !== undefined && claimedHash !== payloadHash)
    return { ok: false, reason: 'x-amz-content-sha256 is not the body’s' };

  const [rawPath = '/', rawQuery = ''] = request.target.split('?', 2);
  const canonicalHeaders = signedHeaders.map((name) => {
    const values = headers.get(name);
    if (values === undefined) return undefined;
    return `${name}:${values.map((value) => value.trim().replace(/\s+/g, ' ')).join(',')}\n`;
  });
  if (canonicalHeaders.includes(undefined)) return { ok: false, reason: 'a signed header is missing' };
  const canonicalRequest = [
    request.method,
    canonicalUri(rawPath),
    canonicalQuery(rawQuery),
    canonicalHeaders.join(''),
    signedHeaderList,
    payloadHash,
  ].join('\n');
  const scope = `${scopeDate}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${secret.secretAccessKey}`, scopeDate), region as string), service as string),
    'aws4_request',
  );
  const expected = hmac(key, stringToSign);
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'signature does not match' };
  return { ok: true, accessKeyId, signedHeaders };
}

export interface VerifiedRequest {
  method: string;
  target: string;
  verdict: Verdict;
}

/**
 * A stand-in for API Gateway's IAM authorization on loopback: verifies every request's signature,
 * answers 403 `{"message":"Forbidden"}` as API Gateway does when it fails, and forwards the others to
 * `upstream` (the local API), answering with the upstream's answer.
 */
export async function startSigV4Gateway(
  upstream: string,
  options: Omit<VerifyOptions, 'now'>,
): Promise<{ url: string; requests: VerifiedRequest[]; close(): Promise<void> }> {
  const requests: VerifiedRequest[] = [];
  const server: Server = createServer(async (incoming: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const target = incoming.url ?? '/';
    const verdict = verifySigV4(
      { method: incoming.method ?? 'GET', target, rawHeaders: incoming.rawHeaders, body },
      options,
    );
    requests.push({ method: incoming.method ?? 'GET', target, verdict });
    if (!verdict.ok) {
      response.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Forbidden' }));
      return;
    }
    const forwarded: Record<string, string> = {};
    for (const [name, value] of Object.entries(incoming.headers)) {
      if (
        value !== undefined &&
        !['host', 'authorization', 'connection', 'content-length', 'transfer-encoding'].includes(name)
      )
        forwarded[name] = String(value);
    }
    const answer = await fetch(`${upstream}${target}`, {
      method: incoming.method,
      headers: forwarded,
      body: body.length > 0 ? body : undefined,
    });
    const headers: Record<string, string> = {};
    answer.headers.forEach((value, name) => {
      if (!['content-length', 'transfer-encoding', 'connection', 'keep-alive'].includes(name)) headers[name] = value;
    });
    response.writeHead(answer.status, headers).end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

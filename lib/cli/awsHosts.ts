/**
 * AWS hosts the command line recognises in a URL, without loading any AWS code: the deployed API's
 * execute-api host (signed with SigV4 automatically) and SQS queue URLs (their region).
 */

/** `{api-id}.execute-api.{region}.amazonaws.com` (or `.amazonaws.com.cn`): the deployed API's own host. */
const EXECUTE_API_HOST = /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

/** The region of an execute-api URL, or undefined for any other host (a custom domain, `npm start`). */
export function executeApiRegion(url: string | URL): string | undefined {
  return EXECUTE_API_HOST.exec(new URL(url).hostname)?.[1];
}

/** `sqs.{region}.amazonaws.com` (and the legacy `{region}.queue.amazonaws.com`): a queue URL's region. */
export function sqsUrlRegion(url: string | URL): string | undefined {
  const host = new URL(url).hostname;
  return (
    /^sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(host)?.[1] ??
    /^([a-z0-9-]+)\.queue\.amazonaws\.com(?:\.cn)?$/.exec(host)?.[1]
  );
}

/**
 * WeCom's command callback over a deployment's corp directory, loaded on its first request (the
 * callback handler, its XML parser and WeCom's crypto stay out of the functions that never serve it).
 */
import type { CallbackReceiver } from '../corps/callback.js';
import type { Log } from '../log.js';
import type { ZoneAccess } from './zone.js';

/**
 * The callback receiver of a deployment with a corp directory (loaded on its first request); none
 * without one.
 */
export function suiteCallbacks(access: ZoneAccess, logger: Log): CallbackReceiver | undefined {
  const directory = access.directory;
  if (!directory) return undefined;
  let handler: Promise<CallbackReceiver> | undefined;
  return {
    async handle(request) {
      handler ??= Promise.all([import('../corps/callback.js'), directory()]).then(
        ([{ SuiteCallbackHandler }, loaded]) => new SuiteCallbackHandler({ directory: loaded, logger }),
      );
      return (await handler).handle(request);
    },
  };
}

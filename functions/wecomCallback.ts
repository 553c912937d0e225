/** `GET|POST /wecom/callback/{suite_id}`: WeCom's command callback. The logic is in `lib/corps/callback.ts`. */
import { makeWecomCallbackHandler } from '../lib/handlers/wecomCallback.js';
import { callbackDependencies } from '../lib/wiring/callbacks.js';

export const handler = makeWecomCallbackHandler(callbackDependencies());

'use strict';
/**
 * A local Serverless Framework plugin: before `osls package` (and so `deploy`) builds anything, the
 * stage's resolved environment goes through the same zod check the functions run at start-up
 * (`checkZoneTransportEnv` in lib/wiring/zone.ts, run by config/check-deploy-config.ts). A stage whose
 * zone transport settings are missing or invalid fails here, naming the variable, not at the first
 * cold start. Values never leave this machine and are not printed.
 */
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

class ServerlessConfigCheck {
  constructor(serverless, _options, { log } = {}) {
    this.serverless = serverless;
    this.log = log;
    const check = () => this.check();
    this.hooks = {
      'before:package:initialize': check,
      'before:deploy:function:initialize': check,
    };
  }

  check() {
    const environment = this.serverless.service.provider.environment ?? {};
    // CloudFormation references (!Ref, !GetAtt) are objects: only literal settings are checked.
    const literal = Object.fromEntries(
      Object.entries(environment)
        .filter(([, value]) => typeof value === 'string' || typeof value === 'number')
        .map(([key, value]) => [key, String(value)]),
    );
    const root = this.serverless.serviceDir ?? process.cwd();
    const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'config', 'check-deploy-config.ts')], {
      cwd: root,
      input: JSON.stringify({
        env: literal,
        service: this.serverless.service.service,
        stage: this.serverless.service.provider.stage,
      }),
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1' },
    });
    if (result.error)
      throw new this.serverless.classes.Error(`configuration check could not run: ${result.error.message}`);
    if (result.status !== 0) {
      const stage = this.serverless.service.provider.stage;
      const message = (result.stderr || result.stdout || 'configuration check failed').trim();
      throw new this.serverless.classes.Error(
        `stage "${stage}": ${message} (docs/reach-your-corp.md lists the settings)`,
      );
    }
    this.log?.verbose?.('zone transport settings checked');
  }
}

module.exports = ServerlessConfigCheck;

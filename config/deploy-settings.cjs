'use strict';
/**
 * The operations settings of a deployment (docs/deploy-and-operate.md "Operate it on AWS"), read once by serverless.yml
 * (`custom.ops: ${file(./config/deploy-settings.cjs)}`): each from its environment variable, else the
 * stage's parameter (`params:` in serverless.yml, `--param name=value`). Checked here, before anything
 * is packaged, with errors that name the variable; values that are not secret only.
 *
 * - EVENT_BUS_ARN / eventBusArn: the existing bus CreateProgramTask events come from and completion
 *   events go to, by ARN, so the framework never creates it (nor deletes it on `osls remove`). Empty:
 *   the account's default bus. EventBridge: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus.html
 * - CREATE_EVENT_SOURCES / createEventSources: the `source` values allowed to create tasks (comma-separated).
 *   Event source rules: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html
 * - ALARM_EMAIL / alarmEmail: subscribed to the alarm topic (empty: none).
 * - EGRESS / egress: `lambda` (Lambda's own networking) or `fixed-ip` (a VPC with a NAT gateway and an
 *   Elastic IP, for WeCom's trusted IPs, errcode 60020).
 * Also refused: EVENT_BUS_NAME other than `default` (the framework would create that bus) and a plain
 * ZONE_BRIDGE_TOKEN (the token belongs in SSM, ZONE_BRIDGE_TOKEN_PARAM).
 */

const BUS_ARN = /^arn:aws[a-z-]*:events:([a-z0-9-]+):(\d{12}):event-bus\/([A-Za-z0-9._\-/]{1,256})$/;
// PutEventsRequestEntry.Source: up to 256 characters; `aws.` is reserved for AWS services.
const SOURCE = /^[A-Za-z0-9._\-/]{1,256}$/;
const EMAIL = /^[^@\s,]+@[^@\s,]+\.[^@\s,]+$/;
const EGRESS = ['lambda', 'fixed-ip'];

/** An error the framework prints as it is (its own wrapper adds the stack, so the stack is the message). */
function settingError(message) {
  const error = new Error(message);
  error.stack = message;
  return error;
}

async function setting({ resolveVariable }, envName, paramName) {
  const fromEnv = process.env[envName];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return fromEnv.trim();
  const fromParam = await resolveVariable(`param:${paramName}`);
  return fromParam === null || fromParam === undefined ? '' : String(fromParam).trim();
}

/**
 * @returns {Promise<{eventBusRule: string, eventBusName: string,
 *   createEventSources: string[], createEventSourcesText: string, alarmEmail: string, egress: string}>}
 */
module.exports = async (context) => {
  const region = await context.resolveVariable('self:provider.region');

  // Documented for Lambda once, but a token in plain configuration: it reaches no function.
  if ((process.env.ZONE_BRIDGE_TOKEN ?? '').trim() !== '') {
    throw settingError(
      'ZONE_BRIDGE_TOKEN: npm start only; on AWS store the token as an SSM SecureString under /wecom-zone-tasks/<stage>/ and name it in ZONE_BRIDGE_TOKEN_PARAM',
    );
  }

  const legacyName = process.env.EVENT_BUS_NAME;
  if (legacyName !== undefined && legacyName.trim() !== '' && legacyName.trim() !== 'default') {
    throw settingError(
      'EVENT_BUS_NAME: a bus named at deploy time would be created, and deleted on `osls remove`, by this stack; give the existing bus as EVENT_BUS_ARN instead',
    );
  }
  const busArn = await setting(context, 'EVENT_BUS_ARN', 'eventBusArn');
  let eventBusName = 'default';
  if (busArn !== '') {
    const match = BUS_ARN.exec(busArn);
    if (!match)
      throw settingError('EVENT_BUS_ARN: must be an event bus ARN, arn:aws:events:<region>:<account>:event-bus/<name>');
    if (match[1] !== region) {
      throw settingError(
        `EVENT_BUS_ARN: the bus is in ${match[1]}, the stack deploys to ${region}; the rule must live next to the bus`,
      );
    }
    eventBusName = match[3];
  }

  const sourcesText = await setting(context, 'CREATE_EVENT_SOURCES', 'createEventSources');
  const createEventSources = [
    ...new Set(
      sourcesText
        .split(',')
        .map((source) => source.trim())
        .filter((source) => source !== ''),
    ),
  ];
  if (createEventSources.length === 0) {
    throw settingError(
      'CREATE_EVENT_SOURCES: at least one event source allowed to create tasks is required (e.g. crm.orders)',
    );
  }
  for (const source of createEventSources) {
    if (!SOURCE.test(source) || source.startsWith('aws.')) {
      throw settingError(
        `CREATE_EVENT_SOURCES: "${source.slice(0, 60)}" is not an event source (1-256 of A-Z a-z 0-9 . _ - /, not aws.*)`,
      );
    }
  }

  const alarmEmail = await setting(context, 'ALARM_EMAIL', 'alarmEmail');
  if (alarmEmail !== '' && !EMAIL.test(alarmEmail)) throw settingError('ALARM_EMAIL: must be one e-mail address');

  const egress = await setting(context, 'EGRESS', 'egress');
  if (!EGRESS.includes(egress)) throw settingError(`EGRESS: must be one of ${EGRESS.join(', ')}`);

  return {
    // What the framework's eventBridge event takes: an ARN (an existing bus, never created) or `default`.
    eventBusRule: busArn === '' ? 'default' : busArn,
    eventBusName,
    createEventSources,
    createEventSourcesText: createEventSources.join(','),
    alarmEmail,
    egress,
  };
};

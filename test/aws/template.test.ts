/**
 * The stack as `osls package` writes it (`.serverless/cloudformation-template-update-stack.json`),
 * read as an operations and security reviewer would: alarms and their topic, data that survives the
 * stack, one dead-letter shape per queue, allow-listed event sources on a bus given by ARN, capped
 * concurrency, throttling and access logs, one role per function with its own log group, switchable
 * fixed-IP egress, every documented setting and output, a region that needs no opt-in; and cfn-lint
 * reporting no errors. Packaged with non-default deploy settings, so the test sees them arrive.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import schedule from '../../config/poll-schedule.json' with { type: 'json' };
import { packageService, ROOT } from '../support/osls.js';

const run = promisify(execFile);
const TEMPLATE = join(ROOT, '.serverless', 'cloudformation-template-update-stack.json');
const STATE = join(ROOT, '.serverless', 'serverless-state.json');

/** The non-default deploy settings this test packages with (docs/deploy-and-operate.md "Deploy settings"). */
const SETTINGS = {
  CREATE_EVENT_SOURCES: 'crm.orders, erp.billing',
  EVENT_BUS_ARN: 'arn:aws:events:ap-southeast-1:123456789012:event-bus/shared-orders',
  ALARM_EMAIL: 'ops@example.com',
  EGRESS: 'fixed-ip',
};

interface Resource {
  Type: string;
  Properties: Record<string, any>;
  Condition?: string;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  DependsOn?: string | string[];
}
interface Template {
  Parameters: Record<string, { Default: string; AllowedValues?: string[] }>;
  Conditions: Record<string, unknown>;
  Resources: Record<string, Resource>;
  Outputs: Record<string, { Value: unknown; Condition?: string }>;
}

let template: Template;
let region: string;
const resources = () => Object.entries(template.Resources);
const ofType = (type: string) => resources().filter(([, resource]) => resource.Type === type);
const functionIds = () => ofType('AWS::Lambda::Function').map(([id]) => id);
/** `CreateTaskLambdaFunction` → `createTask` */
const functionName = (id: string) => {
  const stem = id.replace(/LambdaFunction$/, '');
  return stem[0]?.toLowerCase() + stem.slice(1);
};
const getAtt = (value: unknown): string | undefined => (value as { 'Fn::GetAtt'?: string[] })?.['Fn::GetAtt']?.[0];
const ref = (value: unknown): string | undefined => (value as { Ref?: string })?.Ref;
const statements = (roleId: string): any[] =>
  (template.Resources[roleId]?.Properties.Policies ?? []).flatMap((policy: any) => policy.PolicyDocument.Statement);
const actionsOf = (statement: any): string[] => [statement.Action].flat();

/** A copy of the packaged template for cfn-lint: another test file's packaging replaces `.serverless/`. */
let lintCopy: string;

beforeAll(async () => {
  await rm(join(ROOT, '.serverless'), { recursive: true, force: true });
  const packaged = await packageService(['--stage', 'ci'], SETTINGS, async () => {
    const text = await readFile(TEMPLATE, 'utf8');
    template = JSON.parse(text);
    region = JSON.parse(await readFile(STATE, 'utf8')).service.provider.region;
    lintCopy = join(await mkdtemp(join(tmpdir(), 'template-')), 'cloudformation-template-update-stack.json');
    await writeFile(lintCopy, text);
  });
  if (!packaged.ok) throw new Error(`osls package failed: ${packaged.output}`);
}, 180_000);
afterAll(async () => {
  if (lintCopy) await rm(dirname(lintCopy), { recursive: true, force: true });
});

describe('the packaged stack', () => {
  it('alarms on every dead-letter queue, the poll queue’s age, every function’s errors and throttles and HTTP 5xx, all to one topic that is an output', () => {
    const alarms: Record<string, any>[] = ofType('AWS::CloudWatch::Alarm').map(([id, alarm]) => ({
      id,
      ...alarm.Properties,
    }));
    for (const alarm of alarms) {
      expect(alarm.AlarmActions, alarm.id).toEqual([{ Ref: 'AlarmTopic' }]);
      expect(alarm.TreatMissingData, alarm.id).toBe('notBreaching');
      expect(alarm.AlarmDescription, alarm.id).toMatch(/docs\/deploy-and-operate\.md "Alarms"/);
    }
    expect(template.Resources.AlarmTopic?.Type).toBe('AWS::SNS::Topic');
    expect(template.Outputs.AlarmTopicArn?.Value).toEqual({ Ref: 'AlarmTopic' });
    // The e-mail subscription from the deploy setting, through the AlarmEmail parameter.
    expect(template.Parameters.AlarmEmail?.Default).toBe('ops@example.com');
    expect(template.Resources.AlarmEmailSubscription).toMatchObject({
      Condition: 'HasAlarmEmail',
      Properties: { Protocol: 'email', Endpoint: { Ref: 'AlarmEmail' }, TopicArn: { Ref: 'AlarmTopic' } },
    });

    // Every function: Errors and Throttles.
    expect(functionIds()).toHaveLength(8);
    for (const id of functionIds()) {
      for (const metric of ['Errors', 'Throttles']) {
        const alarm = alarms.find(
          (a) => a.Namespace === 'AWS/Lambda' && a.MetricName === metric && ref(a.Dimensions?.[0]?.Value) === id,
        );
        expect(alarm, `${metric} alarm of ${id}`).toMatchObject({
          Statistic: 'Sum',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        });
      }
    }
    // Every dead-letter queue: a redrive target or a Lambda on-failure destination.
    const deadLetterQueues = deadLetterQueueIds();
    expect(deadLetterQueues.sort()).toEqual([
      'CreateEventsDeadLetterQueue',
      'CreateRequestsDeadLetterQueue',
      'PollDeadLetterQueue',
    ]);
    for (const queue of deadLetterQueues) {
      const alarm = alarms.find(
        (a) => a.MetricName === 'ApproximateNumberOfMessagesVisible' && getAtt(a.Dimensions?.[0]?.Value) === queue,
      );
      expect(alarm, `depth alarm of ${queue}`).toMatchObject({
        Namespace: 'AWS/SQS',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
    // The poll queue's oldest message, well past the longest wait (the 900 s cap, or a spent hourly budget).
    const age = alarms.find((a) => a.MetricName === 'ApproximateAgeOfOldestMessage');
    expect(getAtt(age?.Dimensions?.[0]?.Value)).toBe('PollQueue');
    const longestWait = Math.max(schedule.maxWaitSeconds, 3600 + schedule.budgetSpreadSeconds);
    expect(age?.Threshold).toBeGreaterThanOrEqual(1.5 * longestWait);
    // HTTP API 5xx.
    const http = alarms.find((a) => a.Namespace === 'AWS/ApiGateway');
    expect(http).toMatchObject({ MetricName: '5xx', Dimensions: [{ Name: 'ApiId', Value: { Ref: 'HttpApi' } }] });
    expect(alarms).toHaveLength(8 * 2 + 3 + 1 + 1);
  });

  it('keeps task records and dead letters when the stack goes: retain policies, deletion protection, point-in-time recovery', () => {
    for (const id of ['TasksTable', 'IdempotencyTable', ...deadLetterQueueIds()]) {
      expect(template.Resources[id], id).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
    // Every table is kept, not just the two named.
    for (const [id, table] of ofType('AWS::DynamoDB::Table')) expect(table.DeletionPolicy, id).toBe('Retain');
    expect(template.Resources.TasksTable?.Properties).toMatchObject({
      DeletionProtectionEnabled: true,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('keeps one shape per dead-letter queue: createFromEvent’s failure records go to a queue of their own that no queue redrives into', () => {
    const invokeConfigs = ofType('AWS::Lambda::EventInvokeConfig');
    expect(invokeConfigs).toHaveLength(1);
    const [, config] = invokeConfigs[0] as [string, Resource];
    expect(ref(config.Properties.FunctionName)).toBe('CreateFromEventLambdaFunction');
    expect(getAtt(config.Properties.DestinationConfig.OnFailure.Destination)).toBe('CreateEventsDeadLetterQueue');
    // Each dead-letter queue has exactly one writer.
    const writers = new Map<string, string[]>();
    for (const [id, queue] of ofType('AWS::SQS::Queue')) {
      const target = getAtt(queue.Properties.RedrivePolicy?.deadLetterTargetArn);
      if (target) writers.set(target, [...(writers.get(target) ?? []), id]);
    }
    writers.set('CreateEventsDeadLetterQueue', [
      ...(writers.get('CreateEventsDeadLetterQueue') ?? []),
      'CreateFromEventLambdaFunction',
    ]);
    expect(Object.fromEntries(writers)).toEqual({
      PollDeadLetterQueue: ['PollQueue'],
      CreateRequestsDeadLetterQueue: ['CreateRequestsQueue'],
      CreateEventsDeadLetterQueue: ['CreateFromEventLambdaFunction'],
    });
    expect(template.Resources.CreateEventsDeadLetterQueue?.Properties.RedriveAllowPolicy).toEqual({
      redrivePermission: 'denyAll',
    });
    // Only createFromEvent's role may send to its dead-letter queue; nobody else's role names it.
    for (const [id] of ofType('AWS::IAM::Role')) {
      const mentions = JSON.stringify(template.Resources[id]?.Properties).includes('CreateEventsDeadLetterQueue');
      expect(mentions, id).toBe(id === 'CreateFromEventRole');
      expect(JSON.stringify(template.Resources[id]?.Properties).includes('CreateRequestsDeadLetterQueue'), id).toBe(
        false,
      );
    }
  });

  it('creates tasks only from allow-listed event sources, on the bus given by ARN, which the stack does not create', () => {
    const rules = ofType('AWS::Events::Rule').filter(([, rule]) => rule.Properties.EventPattern);
    expect(rules).toHaveLength(1);
    const [, rule] = rules[0] as [string, Resource];
    expect(rule.Properties.EventPattern).toEqual({
      source: ['crm.orders', 'erp.billing'],
      'detail-type': ['CreateProgramTask'],
    });
    expect(rule.Properties.EventBusName).toBe('shared-orders');
    expect(ofType('AWS::Events::EventBus')).toEqual([]);
    const putEvents = statements('PollResultRole').find((s) => actionsOf(s).includes('events:PutEvents'));
    expect(putEvents.Resource['Fn::Sub']).toMatch(/:event-bus\/shared-orders$/);
    for (const id of functionIds()) {
      expect(template.Resources[id]?.Properties.Environment.Variables, id).toMatchObject({
        EVENT_BUS_NAME: 'shared-orders',
        CREATE_EVENT_SOURCES: 'crm.orders,erp.billing',
      });
    }
    expect(template.Outputs.EventBusArn?.Value).toEqual({
      'Fn::Sub': expect.stringMatching(/:event-bus\/shared-orders$/),
    });
  });

  it('caps concurrency, throttles the HTTP API and writes its access logs, from the schedule file', () => {
    const reserved = schedule.reservedConcurrency as Record<string, number>;
    for (const id of functionIds()) {
      expect(template.Resources[id]?.Properties.ReservedConcurrentExecutions, id).toBe(reserved[functionName(id)]);
    }
    const mappings = Object.fromEntries(
      ofType('AWS::Lambda::EventSourceMapping').map(([, mapping]) => [
        getAtt(mapping.Properties.FunctionName),
        mapping.Properties,
      ]),
    );
    expect(mappings.CreateFromQueueLambdaFunction?.ScalingConfig).toEqual({
      MaximumConcurrency: schedule.createQueueMaxConcurrency,
    });
    expect(mappings.PollResultLambdaFunction?.ScalingConfig).toEqual({
      MaximumConcurrency: schedule.pollerMaxConcurrency,
    });
    // An event source never asks for more than its function may run.
    expect(schedule.createQueueMaxConcurrency).toBeLessThanOrEqual(reserved.createFromQueue ?? 0);
    expect(schedule.pollerMaxConcurrency).toBeLessThanOrEqual(reserved.pollResult ?? 0);

    const stage = template.Resources.HttpApiStage?.Properties;
    expect(stage?.DefaultRouteSettings).toMatchObject({
      ThrottlingRateLimit: schedule.httpApiRateLimit,
      ThrottlingBurstLimit: schedule.httpApiBurstLimit,
    });
    expect(getAtt(stage?.AccessLogSettings.DestinationArn)).toBe('HttpApiLogGroup');
    expect(template.Resources.HttpApiLogGroup?.Properties.RetentionInDays).toBe(30);
    const format = JSON.parse(stage?.AccessLogSettings.Format);
    expect(Object.keys(format)).toEqual(
      expect.arrayContaining(['requestId', 'routeKey', 'status', 'sourceIp', 'userArn']),
    );
    // Request content never reaches the access log: no headers, bodies or query strings.
    expect(JSON.stringify(format)).not.toMatch(/\$input|\$request|requestOverride|querystring|header/i);
  });

  it('gives every function its own role that may write logs only to its own log group; createFromEvent no longer shares createTask’s', () => {
    const roles = functionIds().map((id) => getAtt(template.Resources[id]?.Properties.Role));
    expect(new Set(roles).size).toBe(functionIds().length);
    expect(getAtt(template.Resources.CreateFromEventLambdaFunction?.Properties.Role)).toBe('CreateFromEventRole');
    for (const id of functionIds()) {
      const roleId = getAtt(template.Resources[id]?.Properties.Role) as string;
      const role = template.Resources[roleId] as Resource;
      expect(role.Properties.ManagedPolicyArns, roleId).toBeUndefined();
      const logs = statements(roleId).filter(
        (s) => !s['Fn::If'] && actionsOf(s).some((action) => action.startsWith('logs:')),
      );
      expect(logs, roleId).toHaveLength(1);
      expect(actionsOf(logs[0]).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      expect(getAtt(logs[0].Resource), roleId).toBe(id.replace(/LambdaFunction$/, 'LogGroup'));
    }
    for (const [roleId] of ofType('AWS::IAM::Role')) {
      for (const statement of statements(roleId)) {
        if (statement['Fn::If']) continue;
        expect(statement.Resource, `${roleId} ${actionsOf(statement)}`).not.toBe('*');
      }
    }
  });

  it('offers switchable fixed-IP egress: the zone-calling functions in private subnets behind a NAT gateway with an Elastic IP, with ENI permissions', () => {
    expect(template.Parameters.Egress).toMatchObject({ Default: 'fixed-ip', AllowedValues: ['lambda', 'fixed-ip'] });
    expect(template.Conditions.FixedIpEgress).toEqual({ 'Fn::Equals': [{ Ref: 'Egress' }, 'fixed-ip'] });
    const inVpc = [
      'CreateTaskLambdaFunction',
      'CreateFromQueueLambdaFunction',
      'CreateFromEventLambdaFunction',
      'PollResultLambdaFunction',
      'WecomCallbackLambdaFunction',
    ];
    for (const id of functionIds()) {
      const vpc = template.Resources[id]?.Properties.VpcConfig;
      if (!inVpc.includes(id)) {
        expect(vpc, id).toBeUndefined();
        continue;
      }
      expect(vpc, id).toEqual({
        'Fn::If': [
          'FixedIpEgress',
          {
            SubnetIds: [{ Ref: 'EgressPrivateSubnetA' }, { Ref: 'EgressPrivateSubnetB' }],
            SecurityGroupIds: [{ Ref: 'EgressSecurityGroup' }],
          },
          { Ref: 'AWS::NoValue' },
        ],
      });
      const roleId = getAtt(template.Resources[id]?.Properties.Role) as string;
      const eni = statements(roleId).find((s) => s['Fn::If']?.[0] === 'FixedIpEgress')?.['Fn::If'][1];
      expect(actionsOf(eni), roleId).toEqual(
        expect.arrayContaining([
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DeleteNetworkInterface',
        ]),
      );
    }
    const nat = template.Resources.EgressNatGateway?.Properties;
    expect(nat?.AllocationId).toEqual({ 'Fn::GetAtt': ['EgressElasticIp', 'AllocationId'] });
    expect(ref(nat?.SubnetId)).toBe('EgressPublicSubnet');
    expect(template.Resources.EgressPrivateRoute?.Properties).toMatchObject({
      DestinationCidrBlock: '0.0.0.0/0',
      NatGatewayId: { Ref: 'EgressNatGateway' },
    });
    expect(template.Resources.EgressPublicRoute?.Properties.GatewayId).toEqual({ Ref: 'EgressInternetGateway' });
    for (const subnet of ['EgressPrivateSubnetA', 'EgressPrivateSubnetB']) {
      const association = Object.values(template.Resources).find(
        (r) => r.Type === 'AWS::EC2::SubnetRouteTableAssociation' && ref(r.Properties.SubnetId) === subnet,
      );
      expect(ref(association?.Properties.RouteTableId), subnet).toBe('EgressPrivateRouteTable');
    }
    expect(template.Resources.EgressSecurityGroup?.Properties.SecurityGroupEgress).toEqual([
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '0.0.0.0/0' },
    ]);
    for (const [id, resource] of resources().filter(([id]) => id.startsWith('Egress')))
      expect(resource.Condition, id).toBe('FixedIpEgress');
    expect(template.Outputs.EgressIp).toEqual(
      expect.objectContaining({ Condition: 'FixedIpEgress', Value: { Ref: 'EgressElasticIp' } }),
    );
  });

  it('passes every setting the docs document for the functions to the functions', async () => {
    const documented = await documentedFunctionSettings();
    // The marked tables list them all (a sample of each table, so a lost marker fails here).
    expect(documented).toEqual(
      expect.arrayContaining([
        'ZONE_TIMEOUT_MS',
        'DEFAULT_CORP_ID',
        'POLL_GROWTH',
        'WECOM_API_BASE_URL',
        'CREATE_EVENT_SOURCES',
      ]),
    );
    for (const id of functionIds()) {
      const variables = Object.keys(template.Resources[id]?.Properties.Environment.Variables ?? {});
      const missing = documented.filter((name) => !variables.includes(name));
      expect(missing, `${id} lacks documented settings`).toEqual([]);
    }
  });

  it('outputs everything the docs tell users to use, and docs/deploy-and-operate.md lists every output', async () => {
    const documented = await documentedOutputs();
    expect(documented.length).toBeGreaterThanOrEqual(10);
    const ours = Object.keys(template.Outputs).filter(
      (name) => !/QualifiedArn$|^ServerlessDeploymentBucketName$|^HttpApiId$/.test(name),
    );
    expect(ours.sort()).toEqual([...documented].sort());
    // Every output name the README or any file of docs/ mentions is one the stack has.
    const docs = await documentation();
    const mentioned = [...docs.matchAll(/stack outputs? `([A-Za-z]+)`/g)].map((match) => match[1] as string);
    expect(mentioned.length).toBeGreaterThanOrEqual(3);
    for (const name of mentioned) expect(Object.keys(template.Outputs), name).toContain(name);
  });

  it('deploys by default to a region every account has without opting in', () => {
    // Opt-in regions: https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html
    const OPT_IN =
      /^(af-south-1|ap-east-1|ap-east-2|ap-south-2|ap-southeast-3|ap-southeast-4|ap-southeast-5|ap-southeast-6|ap-southeast-7|ca-west-1|eu-central-2|eu-south-1|eu-south-2|il-central-1|me-central-1|me-south-1|mx-central-1)$/;
    expect(region).toBe('ap-southeast-1');
    expect(region).not.toMatch(OPT_IN);
  });

  it('cfn-lint reports no errors', async () => {
    const available = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' }).status === 0;
    if (!available) {
      if (process.env.CI === 'true') throw new Error('CI=true: cfn-lint is not on PATH (pip install cfn-lint)');
      console.warn('Skipping the cfn-lint check: cfn-lint is not on PATH (pip install cfn-lint)');
      return;
    }
    // Exit codes are bit flags (2 errors, 4 warnings, 8 informational): read the findings instead.
    const { stdout } = await run('cfn-lint', ['--format', 'json', '--regions', region, '--', lintCopy]).catch(
      (error) => error as { stdout: string },
    );
    const findings = JSON.parse(stdout) as { Level: string; Rule: { Id: string }; Message: string }[];
    const errors = findings
      .filter((finding) => finding.Level === 'Error')
      .map((finding) => `${finding.Rule.Id}: ${finding.Message}`);
    expect(errors).toEqual([]);
    // The only warnings left are the framework's own redundant DependsOn (W3005).
    expect([...new Set(findings.map((finding) => finding.Rule.Id))].filter((id) => id !== 'W3005')).toEqual([]);
  }, 120_000);
});

describe('osls package refuses surprising settings, naming the setting', () => {
  it.each([
    [{ EVENT_BUS_NAME: 'orders-bus' }, /EVENT_BUS_NAME: .*EVENT_BUS_ARN/],
    [{ EVENT_BUS_ARN: 'orders-bus' }, /EVENT_BUS_ARN: must be an event bus ARN/],
    [{ EVENT_BUS_ARN: 'arn:aws:events:us-west-2:123456789012:event-bus/b' }, /EVENT_BUS_ARN: the bus is in us-west-2/],
    [{ CREATE_EVENT_SOURCES: 'aws.ec2' }, /CREATE_EVENT_SOURCES: "aws.ec2" is not an event source/],
    [{ CREATE_EVENT_SOURCES: ' , ' }, /CREATE_EVENT_SOURCES: at least one/],
    [{ EGRESS: 'vpn' }, /EGRESS: must be one of lambda, fixed-ip/],
    [{ ALARM_EMAIL: 'ops' }, /ALARM_EMAIL: must be one e-mail address/],
    [
      { ZONE_TRANSPORT: 'bridge', ZONE_BRIDGE_URL: 'http://bridge.example' },
      /ZONE_BRIDGE_URL: must be an https URL on AWS/,
    ],
    [
      { ZONE_TRANSPORT: 'bridge', ZONE_BRIDGE_URL: 'https://bridge.example', ZONE_BRIDGE_TOKEN: 'plain-token-value' },
      /ZONE_BRIDGE_TOKEN: npm start only/,
    ],
    [
      {
        ZONE_TRANSPORT: 'bridge',
        ZONE_BRIDGE_URL: 'https://bridge.example',
        ZONE_BRIDGE_TOKEN_PARAM: '/elsewhere/bridge-token',
      },
      /ZONE_BRIDGE_TOKEN_PARAM: must be under \/wecom-zone-tasks\/ci\//,
    ],
    [
      { CALLBACK_SECRET_PARAM: '/elsewhere/callback-secret' },
      /CALLBACK_SECRET_PARAM: must be under \/wecom-zone-tasks\/ci\//,
    ],
  ])(
    '%j',
    async (settings, message) => {
      const packaged = await packageService(
        ['--stage', 'ci', '--package', join(ROOT, '.serverless-refused')],
        settings as Record<string, string>,
      );
      await rm(join(ROOT, '.serverless-refused'), { recursive: true, force: true });
      expect(packaged.ok).toBe(false);
      expect(packaged.output).toMatch(message);
      expect(packaged.output).not.toContain('plain-token-value');
    },
    60_000,
  );
});

/** Queues that receive dead letters: redrive targets and Lambda on-failure destinations. */
function deadLetterQueueIds(): string[] {
  const ids = new Set<string>();
  for (const [, queue] of ofType('AWS::SQS::Queue')) {
    const target = getAtt(queue.Properties.RedrivePolicy?.deadLetterTargetArn);
    if (target) ids.add(target);
  }
  for (const [, config] of ofType('AWS::Lambda::EventInvokeConfig')) {
    const target = getAtt(config.Properties.DestinationConfig?.OnFailure?.Destination);
    if (target) ids.add(target);
  }
  return [...ids];
}

/** README.md and every markdown file of docs/, one text: where settings and outputs are documented. */
async function documentation(): Promise<string> {
  const docs = (await readdir(join(ROOT, 'docs'), { recursive: true }))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => join('docs', name));
  const texts = await Promise.all(['README.md', ...docs].map((file) => readFile(join(ROOT, file), 'utf8')));
  return texts.join('\n');
}

/** The first column of every table of the docs marked `<!-- settings: functions -->` (docs/configuration.md). */
async function documentedFunctionSettings(): Promise<string[]> {
  const docs = await documentation();
  const names = new Set<string>();
  for (const [, table] of docs.matchAll(/<!-- settings: functions -->\n((?:\|.*\n)+)/g)) {
    for (const row of (table as string).split('\n').slice(2)) {
      // A row the table itself marks as local ("`npm start` only: …, refused on AWS") is not a function setting.
      if (/^\s*`npm start` only/.test(row.split('|')[3] ?? '')) continue;
      const first = row.split('|')[1] ?? '';
      for (const [, name] of first.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) names.add(name as string);
    }
  }
  return [...names];
}

/** The outputs of the "Stack outputs" table of docs/deploy-and-operate.md. */
async function documentedOutputs(): Promise<string[]> {
  const operate = await readFile(join(ROOT, 'docs', 'deploy-and-operate.md'), 'utf8');
  // The section runs from its heading to the next heading of the same or a higher level.
  const section = operate.split(/^### Stack outputs\n/m)[1]?.split(/^#{1,3} /m)[0] ?? '';
  const rows = section.split('\n').filter((line) => line.startsWith('| `'));
  return rows.flatMap((row) =>
    [...(row.split('|')[1] ?? '').matchAll(/`([A-Za-z]+)`/g)].map((match) => match[1] as string),
  );
}

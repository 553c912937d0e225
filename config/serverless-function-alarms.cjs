'use strict';
/**
 * A local Serverless Framework plugin: every function of the service gets two CloudWatch alarms,
 * `<Function>ErrorsAlarm` (AWS/Lambda Errors) and `<Function>ThrottlesAlarm` (AWS/Lambda Throttles),
 * both sent to the stack's `AlarmTopic` (serverless.yml). Generated from the function list, so a
 * function added later is watched without anyone remembering to. Thresholds: `custom.alarms` in
 * serverless.yml; what each alarm means and what to do: docs/deploy-and-operate.md "Alarms".
 * Metrics: https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
 */

class FunctionAlarms {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'package:compileEvents': () => this.addAlarms() };
  }

  addAlarms() {
    const service = this.serverless.service;
    const naming = this.serverless.getProvider('aws').naming;
    const template = service.provider.compiledCloudFormationTemplate;
    const settings = {
      periodSeconds: 300,
      functionErrors: 1,
      functionThrottles: 1,
      topic: 'AlarmTopic',
      ...(service.custom?.alarms ?? {}),
    };
    for (const name of service.getAllFunctions()) {
      const functionId = naming.getLambdaLogicalId(name);
      const stem = naming.getNormalizedFunctionName(name);
      const alarm = (metric, threshold, description) => ({
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmDescription: description,
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId } }],
          Statistic: 'Sum',
          Period: settings.periodSeconds,
          EvaluationPeriods: 1,
          Threshold: threshold,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          // No invocations means no datapoints: nothing is wrong.
          TreatMissingData: 'notBreaching',
          AlarmActions: [{ Ref: settings.topic }],
          OKActions: [{ Ref: settings.topic }],
        },
      });
      template.Resources[`${stem}ErrorsAlarm`] = alarm(
        'Errors',
        settings.functionErrors,
        `${name} failed (threw, timed out or ran out of memory) ${settings.functionErrors}+ times in ${settings.periodSeconds} s: read its log group for the error kind (docs/deploy-and-operate.md "Alarms")`,
      );
      template.Resources[`${stem}ThrottlesAlarm`] = alarm(
        'Throttles',
        settings.functionThrottles,
        `${name} was throttled ${settings.functionThrottles}+ times in ${settings.periodSeconds} s: its reserved concurrency (config/poll-schedule.json) is used up (docs/deploy-and-operate.md "Alarms")`,
      );
    }
  }
}

module.exports = FunctionAlarms;

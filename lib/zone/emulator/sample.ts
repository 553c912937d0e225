/**
 * The built-in sample configuration: the source document's own example works verbatim against it.
 */
import type { ArchivedMessage, ProgramConfig } from './config.js';

export const SAMPLE_ARCHIVE: ArchivedMessage[] = [
  {
    msgid: 'MSGID1',
    secret_key: 'SECRETKEY1',
    msgtype: 1,
    sender: 'A',
    text: '今天天气真不错！',
    send_time: 1_700_000_000,
  },
  { msgid: 'MSGID2', secret_key: 'SECRETKEY2', msgtype: 1, sender: 'B', text: '确实呀！', send_time: 1_700_000_030 },
  {
    msgid: 'MSGID3',
    secret_key: 'SECRETKEY3',
    msgtype: 6,
    sender: 'A',
    transcript: '发货太慢了，我要投诉',
    send_time: 1_700_000_060,
  },
  {
    msgid: 'MSGID4',
    secret_key: 'SECRETKEY4',
    msgtype: 21,
    sender: 'B',
    transcript: '抱歉，我们马上处理',
    send_time: 1_700_000_090,
  },
  // An image: archived, but the zone cannot analyse it (710602).
  { msgid: 'MSGID5', secret_key: 'SECRETKEY5', msgtype: 2, sender: 'A', send_time: 1_700_000_120 },
];

/** How long the sample programs take by default (`ZONE_PROGRAM_LATENCY_MS`). */
export const SAMPLE_PROGRAM_LATENCY_MS = 3000;

export function samplePrograms(latencyMs: number = SAMPLE_PROGRAM_LATENCY_MS): ProgramConfig[] {
  return [
    {
      program_id: 'PROG_ID',
      abilities: [
        {
          ability_id: 'ABILITY_ID',
          input_protocol: '{"ability_id":"1", "task_type":"service_statistics", "msg": "{chat}"}',
          output_protocol: '{"avg_reply_time": 8, "negative_feedback_cnt": 5}',
          handler: { type: 'builtin', name: 'service_statistics', latency_ms: latencyMs },
        },
        {
          ability_id: 'echo',
          input_protocol: '{"chat":"{chat}","chatcontent":"{chatcontent}"}',
          output_protocol: '{"input": ""}',
          handler: { type: 'builtin', name: 'echo', latency_ms: latencyMs },
        },
      ],
    },
  ];
}

import { z } from 'zod';
import {
  AckMessage,
  CentralStatusMessage,
  CommandResultMessage,
  DaySummaryMessage,
  HealthMessage,
  MAX_PAYLOAD_BYTES,
  Menu,
  NoticesMessage,
  OrdersMessage,
  POINT_ID,
  StatusMessage,
  Timestamp,
  type RejectReason,
} from './schemas.js';

/**
 * The v1 protocol as one typed map (after zigbee2mqtt's lib/types/api.ts): every message kind with
 * its topic, payload schema, QoS and retain flag. Topics are built (`topicOf`), subscribed
 * (`filterOf`) and decoded (`decodeMessage`) only through it.
 */
export const ROOT = 'hotpot/v1';

/**
 * Point commands: a fixed list, each with its own argument schema (arguments never carry anything
 * to run). `mode.force`: `"offline"` forces manual-order mode, `null` hands the mode back to the
 * box's checks (`"none"` is what 0.1 centrals sent for null).
 */
export const COMMAND_ARGS = {
  resync: z.strictObject({}),
  reprint: z.strictObject({}),
  rebirth: z.strictObject({}),
  mode: z.strictObject({ force: z.union([z.literal('offline'), z.null(), z.literal('none').transform(() => null)]) }),
} as const;
export type CommandName = keyof typeof COMMAND_ARGS;
export const COMMAND_NAMES = Object.keys(COMMAND_ARGS) as CommandName[];
export type CommandArgs<N extends CommandName = CommandName> = z.output<(typeof COMMAND_ARGS)[N]>;

const commandEnvelope = { ts: Timestamp, id: z.string().min(1).max(64) };
/** Any command's message: its args are checked against the command's own schema on decode. */
const CommandEnvelope = z.object({ ...commandEnvelope, args: z.record(z.string(), z.unknown()).optional() });
const withArgs = (args: z.ZodType<CommandArgs>) => z.object({ ...commandEnvelope, args });
/** `points/{id}/cmd/{command}` per command (commands without arguments may omit them). */
const COMMAND_MESSAGES: Record<CommandName, z.ZodType<CommandMessage>> = {
  resync: withArgs(COMMAND_ARGS.resync.prefault({})),
  reprint: withArgs(COMMAND_ARGS.reprint.prefault({})),
  rebirth: withArgs(COMMAND_ARGS.rebirth.prefault({})),
  mode: withArgs(COMMAND_ARGS.mode),
};
/** Any command message, as the sender builds it and the receiver gets it. */
export type CommandMessage = { ts: number; id: string; args: CommandArgs };

interface Params {
  pointId: string;
  command: CommandName;
}
type ParamName = keyof Params;

interface KindSpec {
  /** Topic under ROOT; `{pointId}` and `{command}` are filled from the params. */
  readonly template: string;
  readonly schema: z.ZodType;
  readonly qos: 0 | 1;
  readonly retain: boolean;
}

export const PROTOCOL = {
  /** agent (and its will) → all: `{online, ts, version, session}`. */
  pointStatus: { template: 'points/{pointId}/status', schema: StatusMessage, qos: 1, retain: true },
  /** agent → central: the health body plus `ts`. */
  pointHealth: { template: 'points/{pointId}/health', schema: HealthMessage, qos: 1, retain: true },
  /** agent → central: one or more full order records. */
  pointOrders: { template: 'points/{pointId}/orders', schema: OrdersMessage, qos: 1, retain: false },
  /** central → agent: ids central has committed. */
  pointAcks: { template: 'points/{pointId}/acks', schema: AckMessage, qos: 1, retain: false },
  /** agent → central: the box's end-of-day summaries. */
  pointDay: { template: 'points/{pointId}/day', schema: DaySummaryMessage, qos: 1, retain: true },
  /** central → agent: a command from COMMAND_ARGS (its schema depends on the command). */
  pointCommand: { template: 'points/{pointId}/cmd/{command}', schema: CommandEnvelope, qos: 1, retain: false },
  /** agent → central: a command's outcome. */
  pointCommandResult: { template: 'points/{pointId}/cmd/{command}/result', schema: CommandResultMessage, qos: 1, retain: false },
  /** central (and its will) → agents. */
  centralStatus: { template: 'central/status', schema: CentralStatusMessage, qos: 1, retain: true },
  /** central → agents: the menu every point sells from. */
  menu: { template: 'menu', schema: Menu, qos: 1, retain: true },
  /** central → agents: the current notices for the staff (`[]` when none). */
  notices: { template: 'notices', schema: NoticesMessage, qos: 1, retain: true },
} as const satisfies Record<string, KindSpec>;

export type MessageKind = keyof typeof PROTOCOL;

type TemplateParams<T extends string> = T extends `${string}{${infer P extends ParamName}}${infer Rest}` ? P | TemplateParams<Rest> : never;
/** The params a kind's topic needs, e.g. `{pointId}` for `pointOrders`. */
export type ParamsOf<K extends MessageKind> = { [P in TemplateParams<(typeof PROTOCOL)[K]['template']>]: Params[P] };
/** What a kind's message holds once decoded (commands: the message of that command). */
export type MessageOf<K extends MessageKind> = K extends 'pointCommand' ? CommandMessage : z.output<(typeof PROTOCOL)[K]['schema']>;
/** What a sender passes for a kind (schema input: defaults may be left out). */
export type OutgoingOf<K extends MessageKind> = K extends 'pointCommand' ? CommandMessage : z.input<(typeof PROTOCOL)[K]['schema']>;

const PARAM_PATTERN: Record<ParamName, string> = {
  pointId: POINT_ID.source.replace(/^\^|\$$/g, ''),
  command: COMMAND_NAMES.join('|'),
};

/** The topic of one message of `kind`. */
export function topicOf<K extends MessageKind>(kind: K, params: ParamsOf<K>): string {
  const values = params as Partial<Params>;
  return `${ROOT}/${PROTOCOL[kind].template.replace(/\{(\w+)\}/g, (_, name: ParamName) => {
    const value = values[name];
    if (value === undefined || !new RegExp(`^(${PARAM_PATTERN[name]})$`).test(value)) throw new Error(`bad ${name} for a ${kind} topic: ${String(value)}`);
    return value;
  })}`;
}

/** A subscription filter for `kind`: params given are fixed, the others are `+`. */
export function filterOf<K extends MessageKind>(kind: K, params: Partial<ParamsOf<K>> = {}): string {
  const values = params as Partial<Params>;
  return `${ROOT}/${PROTOCOL[kind].template.replace(/\{(\w+)\}/g, (_, name: ParamName) => values[name] ?? '+')}`;
}

/** MQTT 5 shared subscription, so central replicas split ingest work. */
export function sharedFilter(group: string, filter: string): string {
  return `$share/${group}/${filter}`;
}

/** Filters one agent subscribes to: its own acks, commands and status, and central's status, menu and notices. */
export function agentFilters(pointId: string): string[] {
  return [
    filterOf('pointAcks', { pointId }),
    filterOf('pointCommand', { pointId }),
    filterOf('pointStatus', { pointId }),
    filterOf('centralStatus'),
    filterOf('menu'),
    filterOf('notices'),
  ];
}

/** What central takes from every point. */
export const CENTRAL_KINDS = ['pointStatus', 'pointHealth', 'pointOrders', 'pointCommandResult', 'pointDay'] as const satisfies readonly MessageKind[];

const MATCHERS = (Object.entries(PROTOCOL) as [MessageKind, KindSpec][]).map(([kind, spec]) => {
  const names: ParamName[] = [];
  const source = spec.template.replace(/\{(\w+)\}/g, (_, name: ParamName) => {
    names.push(name);
    return `(${PARAM_PATTERN[name]})`;
  });
  return { kind, names, pattern: new RegExp(`^${ROOT.replace('/', '\\/')}\\/${source.replace(/\//g, '\\/')}$`) };
});

export type ParsedTopic = { [K in MessageKind]: { kind: K; params: ParamsOf<K> } }[MessageKind];

/** The kind and params of a topic, or null for a topic outside the protocol. */
export function parseTopic(topic: string): ParsedTopic | null {
  for (const { kind, names, pattern } of MATCHERS) {
    const match = pattern.exec(topic);
    if (!match) continue;
    const params: Partial<Params> = {};
    names.forEach((name, i) => ((params as Record<string, string>)[name] = match[i + 1]!));
    return { kind, params } as ParsedTopic;
  }
  return null;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: RejectReason; detail: string };

/** Size check, JSON parse and schema parse of one MQTT payload. */
export function decodePayload<S extends z.ZodType>(schema: S, payload: Buffer): Decoded<z.output<S>> {
  if (payload.length > MAX_PAYLOAD_BYTES) return { ok: false, reason: 'too_large', detail: `${payload.length} bytes > ${MAX_PAYLOAD_BYTES}` };
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: 'bad_json', detail: (error as Error).message };
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    return { ok: false, reason: 'bad_schema', detail: result.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  }
  return { ok: true, value: result.data };
}

/** A message decoded against the map: its kind, the params its topic carried, and its payload. */
export type InboundMessage = { [K in MessageKind]: { kind: K; params: ParamsOf<K>; message: MessageOf<K> } }[MessageKind];
export type Refusal = { reason: RejectReason; detail: string; kind: MessageKind | null; pointId: string | null };

/** One decode for every message: a tagged union by kind, or why it was refused. */
export function decodeMessage(topic: string, payload: Buffer): { ok: true; value: InboundMessage } | ({ ok: false } & Refusal) {
  const parsed = parseTopic(topic);
  if (!parsed) return { ok: false, reason: 'unknown_topic', detail: topic.slice(0, 200), kind: null, pointId: null };
  const schema = parsed.kind === 'pointCommand' ? COMMAND_MESSAGES[parsed.params.command] : PROTOCOL[parsed.kind].schema;
  const decoded = decodePayload(schema, payload);
  const pointId = 'pointId' in parsed.params ? parsed.params.pointId : null;
  if (!decoded.ok) return { ok: false, reason: decoded.reason, detail: decoded.detail, kind: parsed.kind, pointId };
  return { ok: true, value: { kind: parsed.kind, params: parsed.params, message: decoded.value } as InboundMessage };
}

export function encode(payload: unknown): Buffer {
  return Buffer.from(JSON.stringify(payload));
}

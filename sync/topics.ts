/** The v1 topic map: the only place topics are built or parsed. */
export const ROOT = 'hotpot/v1';

export const POINT_ID = /^[a-z0-9-]{1,64}$/;

export const COMMAND_NAMES = ['resync', 'reprint', 'rebirth', 'mode'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export const topics = {
  pointStatus: (pointId: string) => `${ROOT}/points/${pointId}/status`,
  pointHealth: (pointId: string) => `${ROOT}/points/${pointId}/health`,
  pointOrders: (pointId: string) => `${ROOT}/points/${pointId}/orders`,
  pointAcks: (pointId: string) => `${ROOT}/points/${pointId}/acks`,
  pointCommand: (pointId: string, name: CommandName) => `${ROOT}/points/${pointId}/cmd/${name}`,
  pointCommandResult: (pointId: string, name: CommandName) => `${ROOT}/points/${pointId}/cmd/${name}/result`,
  /** The point's end-of-day summaries (retained), for central's reconciliation. */
  pointDay: (pointId: string) => `${ROOT}/points/${pointId}/day`,
  centralStatus: () => `${ROOT}/central/status`,
  menu: () => `${ROOT}/menu`,
};

/** Wildcard filters central subscribes to (every point). */
export const centralFilters = {
  status: `${ROOT}/points/+/status`,
  health: `${ROOT}/points/+/health`,
  orders: `${ROOT}/points/+/orders`,
  commandResults: `${ROOT}/points/+/cmd/+/result`,
  day: `${ROOT}/points/+/day`,
};

/** Filters one agent subscribes to (its own topics plus the shared read-only ones). */
export function agentFilters(pointId: string): string[] {
  return [
    topics.pointAcks(pointId),
    `${ROOT}/points/${pointId}/cmd/+`,
    topics.pointStatus(pointId),
    topics.centralStatus(),
    topics.menu(),
  ];
}

/** MQTT 5 shared subscription, so central replicas split ingest work. */
export function sharedFilter(group: string, filter: string): string {
  return `$share/${group}/${filter}`;
}

export type ParsedTopic =
  | { kind: 'status' | 'health' | 'orders' | 'acks' | 'day'; pointId: string }
  | { kind: 'command' | 'commandResult'; pointId: string; name: CommandName }
  | { kind: 'centralStatus' }
  | { kind: 'menu' };

const POINT_TOPIC = /^hotpot\/v1\/points\/([a-z0-9-]{1,64})\/(status|health|orders|acks|day)$/;
const COMMAND_TOPIC = /^hotpot\/v1\/points\/([a-z0-9-]{1,64})\/cmd\/([a-z]+)(\/result)?$/;

export function parseTopic(topic: string): ParsedTopic | null {
  if (topic === topics.centralStatus()) return { kind: 'centralStatus' };
  if (topic === topics.menu()) return { kind: 'menu' };
  const point = POINT_TOPIC.exec(topic);
  if (point) return { kind: point[2] as 'status' | 'health' | 'orders' | 'acks' | 'day', pointId: point[1]! };
  const command = COMMAND_TOPIC.exec(topic);
  if (command && (COMMAND_NAMES as readonly string[]).includes(command[2]!)) {
    return { kind: command[3] ? 'commandResult' : 'command', pointId: command[1]!, name: command[2] as CommandName };
  }
  return null;
}

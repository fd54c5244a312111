import { z } from 'zod';
import { parseWith } from '../../lib/http.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { COMMAND_NAMES, type CommandArgs, type CommandName } from '../../sync/protocol.js';
import { CentralErrors } from '../errors.js';
import type { CommandAnswered } from '../events.js';
import type { CentralPlugin, PluginContext } from '../plugin.js';
import { COMMANDS_MIGRATIONS, CommandStore, type CommandRecord } from './store.js';

const SendBody = z
  .object({
    name: z.enum(COMMAND_NAMES),
    /** What 0.1 clients sent: ignored, the audit names the signed-in user. */
    by: z.unknown().optional(),
    /** Only for `mode`: `"offline"` forces manual-order mode, `null` hands the mode back to the checks. */
    force: z.enum(['offline']).nullable().optional(),
  })
  .strict();
const ListQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });

/**
 * Commands to points (resync, reprint, rebirth, mode): `POST /api/points/:pointId/commands` publishes
 * `cmd/{name}` with a fresh id; a `cmd/{name}/result` is taken only when its topic's point, its
 * payload's point and a command we sent to that point under that name all agree.
 */
export class CommandsPlugin implements CentralPlugin<'commands'> {
  readonly name = 'commands';
  readonly migrations = COMMANDS_MIGRATIONS;

  start(ctx: PluginContext<'commands'>): void {
    const store = new CommandStore(ctx.db);
    ctx.bus.onCommandAnswered(this, (answer) => this.acceptResult(ctx, store, answer));
    ctx.routes.post('/points/:pointId/commands', 'operator', async (req) => {
      const body = parseWith(SendBody, req.body ?? {});
      const args: CommandArgs = body.name === 'mode' ? { force: body.force ?? null } : {};
      const command = await this.send(ctx, store, req.params.pointId!, body.name, req.principal!.name, args);
      return { status: command.status === 'unsent' ? 502 : 202, body: command };
    });
    ctx.routes.get('/points/:pointId/commands', 'viewer', (req) => {
      const query = parseWith(ListQuery, Object.fromEntries(req.query), 'query');
      return { status: 200, body: store.forPoint(req.params.pointId!, query.limit) };
    });
    ctx.routes.get('/commands/:id', 'viewer', (req) => {
      const command = store.get(req.params.id!);
      if (!command) throw CentralErrors.noCommand(req.params.id!);
      return { status: 200, body: command };
    });
  }

  stop(): void {}

  private async send(ctx: PluginContext<'commands'>, store: CommandStore, pointId: string, name: CommandName, by: string, args: CommandArgs): Promise<CommandRecord> {
    const now = ctx.clock.now();
    if (!ctx.fleet.view(pointId, now)) throw CentralErrors.noPoint(pointId);
    if (!ctx.mqtt.connected) throw CentralErrors.brokerUnavailable();
    const command: CommandRecord = { id: uuidv7(now), pointId, name, sentAt: now, sentBy: by, status: 'sent', resultAt: null, detail: '' };
    store.add(command);
    try {
      await ctx.mqtt.publish('pointCommand', { pointId, command: name }, { ts: now, id: command.id, args });
      ctx.log.info({ pointId, command: name, id: command.id, by }, 'command sent');
    } catch (error) {
      const detail = `not sent: ${(error as Error).message}`;
      store.finish(command.id, 'unsent', ctx.clock.now(), detail);
      ctx.log.warn({ pointId, command: name, id: command.id, err: (error as Error).message }, 'command publish failed');
    }
    const stored = store.get(command.id)!;
    ctx.bus.emitDashboardPush({ type: 'command', data: stored });
    return stored;
  }

  private acceptResult(ctx: PluginContext<'commands'>, store: CommandStore, { pointId, command: name, result }: CommandAnswered): void {
    const reject = (detail: string) => {
      ctx.log.warn({ pointId, command: name, reason: 'point_mismatch', detail }, 'rejected command result');
      ctx.metrics.rejected('point_mismatch');
    };
    if (result.pointId !== pointId) return reject(`result claims ${result.pointId} on ${pointId}'s topic`);
    const command = store.get(result.id);
    if (command && (command.pointId !== pointId || command.name !== name)) return reject(`command ${result.id} was a ${command.name} sent to ${command.pointId}`);
    if (!command) {
      // Replicas all see every result; only the one that sent the command knows its id.
      ctx.log.info({ pointId, command: name, id: result.id }, 'ignored the result of a command this central did not send');
      return;
    }
    if (!store.finish(command.id, result.ok ? 'ok' : 'failed', ctx.clock.now(), result.detail)) return; // a redelivered result
    ctx.bus.emitDashboardPush({ type: 'command', data: store.get(command.id) });
  }
}

import { z } from 'zod';
import { HttpError, parseWith } from '../../lib/http.js';
import { uuidv7 } from '../../lib/uuidv7.js';
import { CommandNameSchema, CommandResultMessage, decodePayload } from '../../sync/schemas.js';
import { topics, type CommandName } from '../../sync/topics.js';
import type { CentralContext, CentralModule } from '../module.js';
import { toDashboard } from '../dashboard/events.js';
import { CommandStore, type CommandRecord } from './store.js';

const SendBody = z
  .object({
    name: CommandNameSchema,
    by: z.string().trim().min(1).max(100).optional(),
    /** Only for `mode`: `"offline"` forces manual-order mode, `null` hands the mode back to the checks. */
    force: z.enum(['offline']).nullable().optional(),
  })
  .strict();
const ListQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });

/**
 * Commands to points (resync, reprint, rebirth): `POST /api/points/:pointId/commands` publishes
 * `cmd/{name}` with a fresh id; a `cmd/{name}/result` is taken only when its topic's point, its
 * payload's point and a command we sent to that point under that name all agree.
 */
export class PointCommands implements CentralModule {
  readonly name = 'point-commands';
  private ctx: CentralContext | undefined;
  private store: CommandStore | undefined;
  private readonly onResult = (pointId: string, name: CommandName, payload: Buffer) => this.acceptResult(pointId, name, payload);

  start(ctx: CentralContext): void {
    this.ctx = ctx;
    this.store = new CommandStore(ctx.store.db);
    ctx.events.on('commandResult', this.onResult);
    ctx.router.post('/api/points/:pointId/commands', async (req) => {
      const body = parseWith(SendBody, req.body ?? {});
      const args = body.name === 'mode' ? { force: body.force ?? 'none' } : undefined;
      const command = await this.send(req.params.pointId!, body.name, body.by ?? 'api', args);
      return { status: command.status === 'unsent' ? 502 : 202, body: command };
    });
    ctx.router.get('/api/points/:pointId/commands', (req) => {
      const query = parseWith(ListQuery, Object.fromEntries(req.query), 'query');
      return { status: 200, body: this.store!.forPoint(req.params.pointId!, query.limit) };
    });
    ctx.router.get('/api/commands/:id', (req) => {
      const command = this.store!.get(req.params.id!);
      if (!command) throw new HttpError(404, { error: `no command ${req.params.id}` });
      return { status: 200, body: command };
    });
  }

  stop(): void {
    this.ctx?.events.off('commandResult', this.onResult);
  }

  async send(pointId: string, name: CommandName, by: string, args?: Record<string, string>): Promise<CommandRecord> {
    const ctx = this.ctx!;
    const now = ctx.clock.now();
    if (!ctx.fleet.view(pointId, now)) throw new HttpError(404, { error: `no point ${pointId} has reported to central` });
    if (!ctx.link.connected) throw new HttpError(503, { error: 'central is not connected to the MQTT broker; try again shortly' });
    const command: CommandRecord = { id: uuidv7(now), pointId, name, sentAt: now, sentBy: by, status: 'sent', resultAt: null, detail: '' };
    this.store!.add(command);
    try {
      await ctx.link.publish(topics.pointCommand(pointId, name), { ts: now, id: command.id, ...(args ? { args } : {}) });
      ctx.log.info({ pointId, command: name, id: command.id, by }, 'command sent');
    } catch (error) {
      const detail = `not sent: ${(error as Error).message}`;
      this.store!.finish(command.id, 'unsent', ctx.clock.now(), detail);
      ctx.log.warn({ pointId, command: name, id: command.id, err: (error as Error).message }, 'command publish failed');
    }
    const stored = this.store!.get(command.id)!;
    toDashboard(ctx.events, 'command', stored);
    return stored;
  }

  private acceptResult(pointId: string, name: CommandName, payload: Buffer): void {
    const ctx = this.ctx!;
    const reject = (reason: string, detail: string) => {
      ctx.log.warn({ pointId, command: name, reason, detail }, 'rejected command result');
      ctx.metrics.rejected.inc({ reason });
    };
    const decoded = decodePayload(CommandResultMessage, payload);
    if (!decoded.ok) return reject(decoded.reason, decoded.detail);
    const result = decoded.value;
    if (result.pointId !== pointId) return reject('point_mismatch', `result claims ${result.pointId} on ${pointId}'s topic`);
    const command = this.store!.get(result.id);
    if (command && (command.pointId !== pointId || command.name !== name)) return reject('point_mismatch', `command ${result.id} was a ${command.name} sent to ${command.pointId}`);
    if (!command) {
      // Replicas all see every result; only the one that sent the command knows its id.
      ctx.log.info({ pointId, command: name, id: result.id }, 'ignored the result of a command this central did not send');
      return;
    }
    if (!this.store!.finish(command.id, result.ok ? 'ok' : 'failed', ctx.clock.now(), result.detail)) return; // a redelivered result
    toDashboard(ctx.events, 'command', this.store!.get(command.id));
  }
}

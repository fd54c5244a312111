import { httpRequest, type HttpCall } from '../../lib/http-client.js';
import type { Exchange } from './decisions.js';

/**
 * One JSON request to the main server (or to central, for the CLI) as the decisions see it. Never
 * throws: no answer (refused, reset, timed out) comes back as `{error}` naming the request, so the
 * caller's decision covers it.
 */
export async function exchange(call: HttpCall): Promise<Exchange> {
  try {
    const answer = await httpRequest({ ...call, headers: { accept: 'application/json', ...call.headers } });
    return { status: answer.status, text: answer.body.toString('utf8') };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

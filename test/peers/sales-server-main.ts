/** Child-process entry of the sales server peer: `node dist/test/peers/sales-server-main.js --port N --journal FILE [--token T]`. */
import { parseArgs } from 'node:util';
import { SalesServer } from './sales-server.js';

const { values } = parseArgs({ options: { port: { type: 'string' }, journal: { type: 'string' }, token: { type: 'string' } } });
const server = await new SalesServer({
  port: Number(values.port ?? 0),
  ...(values.journal ? { journal: values.journal } : {}),
  ...(values.token ? { token: values.token } : {}),
}).start();
process.stdout.write(`${JSON.stringify({ msg: 'ready', port: server.port })}\n`);
const stop = () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

import { join } from 'node:path';
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);

/** The embedded broker (aedes), used when `mqtt.url` is absent. */
export const brokerConfigSchema = z.strictObject({
  host: z.string().min(1).default('0.0.0.0'),
  port: port.default(1883),
  /** The points' logins, in Mosquitto's password-file format (`hotpot provision-point --passwd-file`); default `<dataDir>/broker.passwd`. */
  passwordFile: z.string().min(1).optional(),
  /** A TLS listener beside the plain one: PEM files (e.g. from `hotpot provision-ca`). */
  tls: z
    .strictObject({
      cert: z.string().min(1),
      key: z.string().min(1),
      /** CA certificate(s) that complete the broker certificate's chain. */
      ca: z.string().min(1).optional(),
      port: port.default(8883),
    })
    .optional(),
});

export type BrokerConfig = z.output<typeof brokerConfigSchema>;

/** Where the embedded broker reads its logins: `broker.passwordFile`, or `broker.passwd` in central's data dir. */
export function brokerPasswordFile(config: { dataDir: string; broker: Pick<BrokerConfig, 'passwordFile'> }): string {
  return config.broker.passwordFile ?? join(config.dataDir, 'broker.passwd');
}

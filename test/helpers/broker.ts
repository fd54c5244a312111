import { afterAll } from 'vitest';
import { MosquittoPeer } from '../peers/mosquitto.js';
import { peers, type Peer } from './peers.js';

/** The two brokers every sync test runs against: aedes (central's embedded) and a real Mosquitto. */
export type BrokerKind = 'aedes' | 'mosquitto';

export const BROKER_KINDS: { kind: BrokerKind; peers: Peer[] }[] = [
  { kind: 'aedes', peers: [] },
  { kind: 'mosquitto', peers: [peers.mosquitto()] },
];

/** Starts a Mosquitto for the suite and stops it (by PID) after. */
export function suiteMosquitto(options: ConstructorParameters<typeof MosquittoPeer>[0] = {}): () => Promise<MosquittoPeer> {
  let peer: MosquittoPeer | undefined;
  afterAll(async () => {
    await peer?.stop();
  });
  return async () => {
    peer ??= await new MosquittoPeer(options).start();
    return peer;
  };
}

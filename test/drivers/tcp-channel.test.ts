import { describe } from 'vitest';
import { TcpChannel } from '../../drivers/channel.js';
import { PrinterEmulator } from '../peers/printer-emulator.js';
import { transportContract } from './transport.contract.js';

describe('printer transport contract: TcpChannel (raw port 9100, emulator on a free port)', () => {
  transportContract(async () => {
    const emulator = new PrinterEmulator();
    const channel = new TcpChannel(await emulator.listenTcp());
    return { channel, emulator, gone: () => emulator.closeTcp(), back: async () => void (await emulator.listenTcp()) };
  });
});

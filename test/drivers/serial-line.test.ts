import { SerialLine } from '../../drivers/serial.js';
import { describeWithPeers, peers } from '../helpers/peers.js';
import { PrinterEmulator } from '../peers/printer-emulator.js';
import { transportContract } from './transport.contract.js';

describeWithPeers('printer transport contract: SerialLine (a socat pty pair)', [peers.socat()], () => {
  transportContract(async () => {
    const emulator = new PrinterEmulator();
    const channel = new SerialLine(await emulator.plugSerial(), { baudRate: 9600 });
    return { channel, emulator, gone: () => emulator.unplugSerial(), back: async () => void (await emulator.plugSerial()) };
  });
});

import { afterEach, expect, it } from 'vitest';
import { DeviceUnreachableError, type ByteChannel } from '../../drivers/channel.js';
import { STATUS_QUERY, STATUS_REPLY_BYTES, decodeStatus, encodeReceipt } from '../../drivers/escpos.js';
import { TimeoutError } from '../../lib/timeout.js';
import { waitFor } from '../peers/net.js';
import { PrinterEmulator } from '../peers/printer-emulator.js';

/** A printer transport wired to a fresh ESC/POS emulator, with the device's power (or cable) in the test's hands. */
export interface TransportUnderTest {
  channel: ByteChannel;
  emulator: PrinterEmulator;
  /** The device goes away: switched off, or its cable pulled. */
  gone(): Promise<void>;
  /** The device is back where it was. */
  back(): Promise<void>;
}

const STATUS_TIMEOUT_MS = 1000;
/** Plain ASCII receipts: no code page, no drawn text, so no fonts are needed. */
const ENCODING = { width: 42, dots: 576, codePage: 'cp866', fonts: () => Promise.reject(new Error('these receipts draw nothing')) } as const;
const WHAT = "the printer's answer to DLE EOT";

const askStatus = (channel: ByteChannel, timeoutMs = STATUS_TIMEOUT_MS) => channel.exchange(STATUS_QUERY, STATUS_REPLY_BYTES, timeoutMs, WHAT);

/**
 * What the ESC/POS printer relies on from a byte channel (TcpChannel, SerialLine): bytes reach
 * the device, each exchange gets its own answer, a silent device is a timeout naming the wait,
 * a missing one a DeviceUnreachableError, and the same channel works again when it is back.
 * `open` gives a channel to a fresh, present emulator; the suite closes both after each test.
 */
export function transportContract(open: () => Promise<TransportUnderTest>): void {
  const opened: TransportUnderTest[] = [];
  afterEach(async () => {
    for (const under of opened.splice(0)) {
      await under.channel.close();
      await under.emulator.close();
    }
  });
  const fresh = async () => {
    const under = await open();
    opened.push(under);
    return under;
  };

  it('writes what it is given: a receipt sent with no answer expected reaches the printer whole', async () => {
    const { channel, emulator } = await fresh();
    const receipt = await encodeReceipt([{ kind: 'text', text: 'Order tbilisi-01-000007' }, { kind: 'qr', data: 'order-7' }], ENCODING);
    expect(await channel.exchange(receipt, 0, 5000, 'the receipt to be taken')).toEqual(Buffer.alloc(0));
    await waitFor(() => emulator.receipts.length === 1, 'the emulator to print the receipt');
    expect(emulator.receipts[0]).toMatchObject({ lines: ['Order tbilisi-01-000007'], qr: ['order-7'] });
  });

  it('returns exactly the answer to a status query, and the answer follows the device', async () => {
    const { channel, emulator } = await fresh();
    expect(decodeStatus(await askStatus(channel))).toMatchObject({ offline: false, paperEnd: false, coverOpen: false });
    emulator.set({ paperEnd: true });
    expect(decodeStatus(await askStatus(channel))).toMatchObject({ offline: true, paperEnd: true, paperNearEnd: true });
    emulator.set({ coverOpen: true });
    expect(decodeStatus(await askStatus(channel))).toMatchObject({ coverOpen: true, paperEnd: false });
    expect(emulator.statusQueries).toBe(12);
  });

  it('answers a receipt followed by a status query in one exchange only once the receipt is read', async () => {
    const { channel, emulator } = await fresh();
    const receipt = await encodeReceipt([{ kind: 'text', text: 'Order batumi-02-000001' }], ENCODING);
    const answer = await channel.exchange(Buffer.concat([receipt, STATUS_QUERY]), STATUS_REPLY_BYTES, 5000, "the printer's status after the receipt");
    expect(decodeStatus(answer).offline).toBe(false);
    // The answer comes after the receipt on the same stream: it is already printed.
    expect(emulator.receipts.map((r) => r.lines)).toEqual([['Order batumi-02-000001']]);
  });

  it('a silent device is a TimeoutError naming what it waited for and where', async () => {
    const { channel, emulator } = await fresh();
    emulator.set({ mute: true });
    const error = await askStatus(channel, 300).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toContain(WHAT);
    expect((error as Error).message).toContain(channel.address);
  });

  it("never takes an earlier, timed-out exchange's bytes for a later one's answer", async () => {
    const { channel, emulator } = await fresh();
    // Asks for one byte more than the device sends: the four it does send are left over.
    await expect(channel.exchange(STATUS_QUERY, STATUS_REPLY_BYTES + 1, 300, WHAT)).rejects.toBeInstanceOf(TimeoutError);
    emulator.set({ paperEnd: true });
    expect(decodeStatus(await askStatus(channel)).paperEnd).toBe(true);
  });

  it('a device that is not there is a DeviceUnreachableError naming it', async () => {
    const under = await fresh();
    await under.gone();
    const error = await askStatus(under.channel).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeviceUnreachableError);
    expect((error as Error).message).toContain(under.channel.address);
  });

  it('a device that goes away in the middle of an exchange fails it as unreachable, not as a timeout', async () => {
    const under = await fresh();
    under.emulator.set({ mute: true });
    const exchange = askStatus(under.channel, 20_000).catch((e: unknown) => e);
    await waitFor(() => under.emulator.statusQueries > 0, 'the query to reach the device');
    const before = Date.now();
    await under.gone();
    const error = await exchange;
    expect(error).toBeInstanceOf(DeviceUnreachableError);
    expect(Date.now() - before).toBeLessThan(10_000);
  });

  it('works again through the same channel once the device is back, with no reopen by its user', async () => {
    const under = await fresh();
    expect(decodeStatus(await askStatus(under.channel)).offline).toBe(false);
    await under.gone();
    await expect(askStatus(under.channel)).rejects.toBeInstanceOf(DeviceUnreachableError);
    await under.back();
    under.emulator.set({ paperNearEnd: true });
    let flags: ReturnType<typeof decodeStatus> | undefined;
    await waitFor(
      async () => {
        flags = await askStatus(under.channel).then(decodeStatus, () => undefined);
        return flags !== undefined;
      },
      'the channel to answer again after the device came back',
      15_000,
      200,
    );
    expect(flags).toMatchObject({ paperNearEnd: true, offline: false });
  });

  it('closes, and closes again, even with the device gone', async () => {
    const under = await fresh();
    await askStatus(under.channel);
    await under.gone();
    await under.channel.close();
    await under.channel.close();
  });
}

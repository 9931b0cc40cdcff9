/**
 * A real SMTP server for a laptop or a test run: it accepts every message and
 * stores it, exactly as received, as a `.eml` file. Run as its own process:
 *   node --import tsx local-services/smtp-sink.ts --port 0 --dir FOLDER
 * Prints `SMTP_SINK_READY smtp://127.0.0.1:PORT` once listening.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { parseServiceArgs } from './service-args';

const { port, dir } = parseServiceArgs('smtp-sink', process.argv.slice(2));
mkdirSync(dir, { recursive: true });
let sequence = 0;

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  banner: 'Oshirase local SMTP sink',
  logger: false,
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      sequence += 1;
      const recipients = session.envelope.rcptTo.map((r) => r.address).join(',');
      const name = `${Date.now()}-${String(sequence).padStart(5, '0')}.eml`;
      // Envelope recipients as a header, so tests can find a resident's mail without parsing it.
      writeFileSync(join(dir, name), Buffer.concat([Buffer.from(`X-Envelope-To: ${recipients}\r\n`), ...chunks]));
      callback();
    });
  },
});

server.listen(port, '127.0.0.1', () => {
  const address = server.server.address() as AddressInfo;
  process.stdout.write(`SMTP_SINK_READY smtp://127.0.0.1:${address.port}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => server.close(() => process.exit(0)));
}

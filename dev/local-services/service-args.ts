import { parseArgs } from 'node:util';

/** `--port N --dir FOLDER`, checked; a bad value ends the process with a one-line reason. */
export function parseServiceArgs(service: string, argv: string[]): { port: number; dir: string } {
  const { values } = parseArgs({ args: argv, options: { port: { type: 'string', default: '0' }, dir: { type: 'string' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(service, `--port: "${values.port}" is not a port number`);
  if (!values.dir) fail(service, '--dir: required (the folder to store what is received)');
  return { port, dir: values.dir };
}

function fail(service: string, message: string): never {
  process.stderr.write(`${service}: ${message}\n`);
  process.exit(2);
}

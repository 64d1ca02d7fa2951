import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * JSON lines on stderr, or pretty-printed when stderr is a terminal. Logs go to stderr so that a
 * command's stdout carries only its result.
 */
export function createLogger(name: string, level: string = 'info', destination: NodeJS.WritableStream = process.stderr): Logger {
  const options = { name, level, base: { service: name, pid: process.pid } };
  const isTty = (destination as NodeJS.WriteStream).isTTY === true && process.env.MEMORIZE_LOG_FORMAT !== 'json';
  if (isTty || process.env.MEMORIZE_LOG_FORMAT === 'pretty') {
    return pino(options, pretty({ destination, colorize: isTty, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  return pino(options, destination);
}

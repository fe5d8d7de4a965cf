/**
 * Logging: pino JSON lines, one per event, `msg` keeping keepalived's text and the rest as
 * fields. Child loggers are bound to {instance, vrid} or {vs, rs}.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

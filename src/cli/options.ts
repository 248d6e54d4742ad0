import { ConfigError } from '../config.js';

/** A command-line date: YYYY-MM-DD (midnight UTC) or an ISO instant; undefined when not given. */
export function dateOption(text: string, name: string): Date;
export function dateOption(text: string | undefined, name: string): Date | undefined;
export function dateOption(text: string | undefined, name: string): Date | undefined {
  if (text === undefined) return undefined;
  const date = new Date(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(date.getTime())) throw new ConfigError(`--${name} "${text}" is not a date`);
  return date;
}

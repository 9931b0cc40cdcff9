/**
 *   oshirase events send --resident R-1001 --type birth --date 2026-11-20 | --file EVENT.json
 */
import { loadEngineConfig } from '../config/engine-config';
import { acceptLifeEvent } from '../engine/intake/accept-life-event';
import { eventClock, InvalidInputError, parseLifeEvent } from '../engine/intake/life-event-schema';
import { readTextFile } from '../foundation/read-text-file';
import { defineCommand, requireOption } from './cli-support';
import { outreachStartSettings } from '../engine/outreach/start-outreach';

interface EventsSendOptions {
  resident?: string;
  type?: string;
  date?: string;
  id?: string;
  file?: string;
}

export const EVENTS_SEND = defineCommand<EventsSendOptions>({
  name: 'events send',
  summary: 'Send a life event to the engine, as the resident registry would.',
  usage: '--resident ID --type birth --date YYYY-MM-DD [--id EVENT_ID] | --file EVENT.json',
  options: (cmd) =>
    cmd
      .option('--resident <id>', 'the resident the event is about')
      .option('--type <type>', 'the event type, e.g. birth')
      .option('--date <date>', 'when it happened (YYYY-MM-DD)')
      .option('--id <eventId>', "the event's id (default: made from type, resident and date)")
      .option('--file <file>', 'a JSON event, as POST /api/v1/events takes it'),
  async run({ opts }, ctx) {
    let body: unknown;
    let source = 'command line';
    if (opts.file) {
      source = opts.file;
      // Strict UTF-8, as every file the engine reads: a Shift_JIS export is refused, not turned into mojibake.
      const read = readTextFile(opts.file);
      if (!read.ok) throw new InvalidInputError(`${opts.file}:${read.problem.line}:${read.problem.column}`, [read.problem.message]);
      try {
        body = JSON.parse(read.text);
      } catch (error) {
        throw new InvalidInputError(opts.file, [`not valid JSON (${error instanceof Error ? error.message : String(error)})`]);
      }
    } else {
      const resident = requireOption(EVENTS_SEND.name, 'resident', opts.resident);
      const date = requireOption(EVENTS_SEND.name, 'date', opts.date);
      body = { id: opts.id ?? `cli-${opts.type ?? 'event'}-${resident}-${date}`, type: opts.type, residentId: resident, occurredOn: date };
    }
    // The same checks as POST /api/v1/events: catalog fields, clean text, the date window of the city's settings.
    const event = parseLifeEvent(
      source,
      body,
      eventClock(() => new Date(), loadEngineConfig().lifeEvents),
    );
    const temporal = await ctx.temporal();
    const context = await ctx.engine();
    const result = await acceptLifeEvent(
      { db: context.database.db, temporal, ...outreachStartSettings(context.config), outreachIdKey: context.outreachIdKey },
      event,
      'cli',
    );
    ctx.print(`event ${result.eventId}${result.duplicate ? ' (already received: nothing new started)' : ''}`);
    for (const m of result.matches) {
      const r = m.result;
      const what =
        r.decision === 'outreach'
          ? `${r.start} ${r.outreachId}`
          : r.decision === 'no-consent'
            ? `not contacted: no consent for ${r.purpose}`
            : 'conditions not met';
      ctx.print(`  ${m.ruleId} v${m.ruleVersion}: ${what}`);
    }
    if (result.matches.length === 0) ctx.print('  no published rule is triggered by this event type');
    return 0;
  },
});

export const EVENT_COMMANDS = [EVENTS_SEND];

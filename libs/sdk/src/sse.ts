import { LineSplitter } from './lines';

/** One message of a server-sent event stream. */
export interface SseMessage {
  /** The `event:` field; `message` when the server sent none. */
  event: string;
  /** The `data:` lines, joined with LF. */
  data: string;
  /** The last event id seen on the stream when the message arrived (its own `id:` or an earlier one). */
  lastEventId?: string;
}

/**
 * Parses a `text/event-stream` body as its text arrives, chunk by chunk (a
 * message, or a line, may be split anywhere), as the HTML standard says:
 * comment lines (`:` first) are skipped, one space after the colon is dropped,
 * a message is dispatched at a blank line when it has data, `id:` sets the last
 * event id (kept across messages), and `retry:` the reconnection delay. A
 * message not ended by a blank line when the stream ends is dropped.
 */
export class SseParser {
  /** The last `id:` seen (an empty `id:` clears it). */
  lastEventId: string | undefined;
  /** The last `retry:` seen, in milliseconds. */
  retryMs: number | undefined;
  private readonly lines = new LineSplitter();
  private data: string[] = [];
  private event = '';

  constructor(lastEventId?: string) {
    this.lastEventId = lastEventId;
  }

  /** The messages `text` completes. */
  push(text: string): SseMessage[] {
    const messages: SseMessage[] = [];
    for (const line of this.lines.push(text)) {
      if (line === '') {
        if (this.data.length) messages.push({ event: this.event || 'message', data: this.data.join('\n'), lastEventId: this.lastEventId || undefined });
        this.data = [];
        this.event = '';
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') this.data.push(value);
      else if (field === 'event') this.event = value;
      else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
      else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    }
    return messages;
  }

  /** Forgets a message cut short (the stream ended or dropped); the last event id and retry stay. */
  reset(): void {
    this.lines.flush();
    this.data = [];
    this.event = '';
  }
}

/**
 * Cuts text that arrives in chunks into lines, whatever the chunks: a line
 * split across two chunks comes out whole, once its end has arrived. A line
 * ends at LF, CRLF or a lone CR (as server-sent events allow); a CR that ends a
 * chunk waits for the next one, which may begin with its LF.
 */
export class LineSplitter {
  private rest = '';

  /** The lines `text` completes, without their line ends. */
  push(text: string): string[] {
    const buffer = this.rest + text;
    const lines: string[] = [];
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i);
      if (c === 0x0a) {
        lines.push(buffer.slice(start, i));
        start = i + 1;
      } else if (c === 0x0d) {
        if (i + 1 === buffer.length) break;
        lines.push(buffer.slice(start, i));
        if (buffer.charCodeAt(i + 1) === 0x0a) i++;
        start = i + 1;
      }
    }
    this.rest = buffer.slice(start);
    return lines;
  }

  /** The last line when the text ended without a line end ('' when none), and a fresh start. */
  flush(): string {
    const last = this.rest.endsWith('\r') ? this.rest.slice(0, -1) : this.rest;
    this.rest = '';
    return last;
  }
}

/** The next piece of a response body as text, or how the body ended: `done` when the server ended it, `error` when reading failed (the connection dropped, or the request was aborted). */
export type BodyRead = { text: string; done: false } | { text: string; done: true } | { error: unknown };

/** Reads a response body as UTF-8 text without throwing: each call answers one {@link BodyRead}. `cancel` closes the connection. */
export class BodyReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();

  constructor(body: ReadableStream<Uint8Array>) {
    this.reader = body.getReader();
  }

  async read(): Promise<BodyRead> {
    try {
      const { done, value } = await this.reader.read();
      if (done) return { text: this.decoder.decode(), done: true };
      return { text: this.decoder.decode(value, { stream: true }), done: false };
    } catch (error) {
      return { error };
    }
  }

  cancel(): void {
    this.reader.cancel().catch(() => undefined);
  }
}

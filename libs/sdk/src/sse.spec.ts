import { LineSplitter } from './lines';
import { SseParser } from './sse';

/** `text` pushed in two pieces, cut at `at`, then flushed. */
function splitAt(text: string, at: number): string[] {
  const splitter = new LineSplitter();
  const lines = [...splitter.push(text.slice(0, at)), ...splitter.push(text.slice(at))];
  const last = splitter.flush();
  return last ? [...lines, last] : lines;
}

describe('LineSplitter', () => {
  it('gives the same lines wherever the text is cut, for LF, CRLF and a lone CR', () => {
    const text = 'one\ntwo\r\nthree\rfour\r\n\r\nsix';
    const expected = ['one', 'two', 'three', 'four', '', 'six'];
    for (let at = 0; at <= text.length; at++) expect([at, splitAt(text, at)]).toEqual([at, expected]);
  });

  it('holds back a line until its end arrives', () => {
    const splitter = new LineSplitter();
    expect(splitter.push('{"line":"hel')).toEqual([]);
    expect(splitter.push('lo"}\n{"li')).toEqual(['{"line":"hello"}']);
    expect(splitter.push('ne":"x"}\r')).toEqual([]);
    expect(splitter.push('\n')).toEqual(['{"line":"x"}']);
    expect(splitter.flush()).toBe('');
  });
});

describe('SseParser', () => {
  const stream =
    ': connected\n\n' +
    'event: container.created\ndata: {"type":"container.created","id":"c1"}\n\n' +
    'id: 7\r\nevent: container.running\r\ndata:{"a":1}\r\ndata:  two spaces\r\n\r\n' +
    'retry: 1500\ndata\n\n' +
    'event: ignored\n\n' +
    'id\ndata: after an empty id\n\n' +
    'data: cut short';
  const expected = [
    { event: 'container.created', data: '{"type":"container.created","id":"c1"}', lastEventId: undefined },
    { event: 'container.running', data: '{"a":1}\n two spaces', lastEventId: '7' },
    { event: 'message', data: '', lastEventId: '7' },
    { event: 'message', data: 'after an empty id', lastEventId: undefined },
  ];

  it('parses messages wherever the stream is cut', () => {
    for (let at = 0; at <= stream.length; at++) {
      const parser = new SseParser();
      const messages = [...parser.push(stream.slice(0, at)), ...parser.push(stream.slice(at))];
      expect([at, messages]).toEqual([at, expected]);
      expect(parser.retryMs).toBe(1500);
      expect(parser.lastEventId).toBe('');
    }
  });

  it('keeps the last event id across messages and after a reset, and drops the message cut short', () => {
    const parser = new SseParser('3');
    expect(parser.push('data: {"n":1}\n\nid: 4\ndata: {"n":2}\n\ndata: {"n"')).toEqual([
      { event: 'message', data: '{"n":1}', lastEventId: '3' },
      { event: 'message', data: '{"n":2}', lastEventId: '4' },
    ]);
    parser.reset();
    expect(parser.push(':3}\n\ndata: {"n":3}\n\n')).toEqual([{ event: 'message', data: '{"n":3}', lastEventId: '4' }]);
    expect(parser.lastEventId).toBe('4');
  });
});

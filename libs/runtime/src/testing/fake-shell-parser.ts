/** A word of a script, in parts: quoted ones, and the bare or double-quoted ones that `$` expands in. */
export type WordPart = { text: string; expand: boolean; bare?: boolean };
export type Word = WordPart[];

export interface SimpleCommand {
  words: Word[];
  toStderr: boolean;
  /** How this command joins the previous one. */
  after: ';' | '&&' | '||';
  background: boolean;
}

export /** Splits a script into simple commands: quotes, operators and `>&2` understood, nothing more. */
function parseScript(script: string): SimpleCommand[] {
  const commands: SimpleCommand[] = [];
  let current: SimpleCommand = { words: [], toStderr: false, after: ';', background: false };
  let word: Word | undefined;
  const endWord = () => {
    if (word) current.words.push(word);
    word = undefined;
  };
  const endCommand = (next: SimpleCommand['after'], background = false) => {
    endWord();
    if (current.words.length) commands.push({ ...current, background });
    current = { words: [], toStderr: false, after: next, background: false };
  };
  for (let i = 0; i < script.length; i++) {
    const c = script[i];
    const two = script.slice(i, i + 2);
    if (c === "'" || c === '"') {
      const close = script.indexOf(c, i + 1);
      const end = close < 0 ? script.length : close;
      (word ??= []).push({ text: script.slice(i + 1, end), expand: c === '"' });
      i = end;
    } else if (two === '&&' || two === '||') {
      endCommand(two);
      i++;
    } else if (script.startsWith('1>&2', i) || two === '>&') {
      endWord();
      current.toStderr = true;
      i += script.startsWith('1>&2', i) ? 3 : 2;
    } else if (c === '&') {
      endCommand(';', true);
    } else if (c === ';' || c === '\n') {
      endCommand(';');
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else {
      word ??= [];
      const last = word[word.length - 1];
      if (last?.bare) last.text += c;
      else word.push({ text: c, expand: true, bare: true });
    }
  }
  endCommand(';');
  return commands;
}

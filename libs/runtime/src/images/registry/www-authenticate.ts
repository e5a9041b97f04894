/** One challenge of a `WWW-Authenticate` header: `Bearer realm="…",service="…"`. */
export interface AuthChallenge {
  /** As sent; compare case-insensitively. */
  scheme: string;
  /** Parameter names lower-cased, values unquoted. */
  params: Record<string, string>;
}

const MAX_HEADER_LENGTH = 16 * 1024;
/** An RFC 7230 token: what an auth scheme may be spelled with. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parses a `WWW-Authenticate` header (RFC 7235): one or more challenges, each a
 * scheme followed by comma-separated `name=value` or `name="quoted \"value\""`
 * parameters. Tolerant of odd spacing; never throws.
 */
export function parseWwwAuthenticate(header: string | null | undefined): AuthChallenge[] {
  const text = (header ?? '').slice(0, MAX_HEADER_LENGTH);
  const n = text.length;
  const challenges: AuthChallenge[] = [];
  let current: AuthChallenge | undefined;
  let i = 0;
  const isSpace = (c: string | undefined) => c === ' ' || c === '\t';
  const skipSpace = () => {
    while (i < n && isSpace(text[i])) i++;
  };
  // Every pass consumes at least one character, so n + 1 passes always suffice.
  for (let guard = 0; i < n && guard <= n; guard++) {
    skipSpace();
    if (i >= n) break;
    if (text[i] === ',') {
      i++;
      continue;
    }
    const start = i;
    while (i < n && !isSpace(text[i]) && text[i] !== ',' && text[i] !== '=') i++;
    const token = text.slice(start, i);
    if (!token) {
      i++; // a stray '='
      continue;
    }
    skipSpace();
    if (text[i] === '=' && current) {
      i++;
      skipSpace();
      let value = '';
      if (text[i] === '"') {
        i++;
        while (i < n && text[i] !== '"') {
          if (text[i] === '\\' && i + 1 < n) i++;
          value += text[i++];
        }
        i++; // closing quote
      } else {
        const valueStart = i;
        while (i < n && text[i] !== ',' && !isSpace(text[i])) i++;
        value = text.slice(valueStart, i);
      }
      current.params[token.toLowerCase()] = value;
    } else if (text[i] === '=') {
      // A parameter before any scheme: ignore it and its value.
      while (i < n && text[i] !== ',') i++;
    } else if (TOKEN.test(token)) {
      current = { scheme: token, params: {} };
      challenges.push(current);
    }
  }
  return challenges;
}

/** The first challenge of a scheme (case-insensitive). */
export function findChallenge(challenges: AuthChallenge[], scheme: string): AuthChallenge | undefined {
  return challenges.find((c) => c.scheme.toLowerCase() === scheme.toLowerCase());
}

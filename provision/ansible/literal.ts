// How Ansible's INI plugin reads values: host lines are split with Python's
// shlex (POSIX mode, '#' comments), and every value goes through Python's
// ast.literal_eval, falling back to the text itself. So `no`, `yes`, `true`
// and `007` stay strings, `True`/`1`/`0x10`/`[1, 2]` become bool/int/list, and
// quotes are removed only when the whole value is a Python string literal.

/** A Python value JSON cannot hold (bytes, complex, set, Ellipsis): kept so the mapping can name it. */
export class PyOpaque {
  constructor(
    readonly kind: string,
    readonly text: string,
  ) {}
  toString(): string {
    return this.text;
  }
}

export type PyValue = string | number | boolean | null | PyValue[] | { [k: string]: PyValue } | PyOpaque;

export class ShlexError extends Error {}

/** Python's shlex.split(line, comments=True) in POSIX mode. */
export function shlexSplit(line: string): string[] {
  const out: string[] = [];
  let token = '';
  let quoted = false;
  let inWord = false;
  let i = 0;
  const ws = /[ \t\r\n]/;
  while (i < line.length) {
    const c = line[i];
    if (ws.test(c)) {
      if (inWord) out.push(token);
      token = '';
      quoted = inWord = false;
      i++;
    } else if (c === '#') {
      // A commenter ends the line, even in the middle of a word.
      break;
    } else if (c === "'" || c === '"') {
      const end = c === "'" ? findSingle(line, i + 1) : -1;
      if (c === "'") {
        if (end < 0) throw new ShlexError('No closing quotation');
        token += line.slice(i + 1, end);
        i = end + 1;
      } else {
        i++;
        for (;;) {
          if (i >= line.length) throw new ShlexError('No closing quotation');
          const d = line[i];
          if (d === '"') break;
          if (d === '\\') {
            if (i + 1 >= line.length) throw new ShlexError('No closing quotation');
            const n = line[i + 1];
            token += n === '"' || n === '\\' ? n : '\\' + n;
            i += 2;
          } else {
            token += d;
            i++;
          }
        }
        i++;
      }
      quoted = inWord = true;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new ShlexError('No escaped character');
      token += line[i + 1];
      inWord = true;
      i += 2;
    } else {
      token += c;
      inWord = true;
      i++;
    }
  }
  if (inWord || quoted) out.push(token);
  return out;
}

function findSingle(s: string, from: number): number {
  return s.indexOf("'", from);
}

class NotLiteral extends Error {}

/**
 * ast.literal_eval(text) for the literals an inventory can hold, or the text
 * itself when Python would raise (SyntaxError or ValueError), as Ansible does.
 */
export function pythonValue(text: string): PyValue {
  try {
    return new LiteralParser(text.replace(/^[ \t]+/, '')).whole();
  } catch (e) {
    if (e instanceof NotLiteral) return text;
    throw e;
  }
}

class LiteralParser {
  private i = 0;
  constructor(private readonly s: string) {}

  whole(): PyValue {
    const v = this.expr();
    this.skip();
    if (this.i < this.s.length) throw new NotLiteral();
    return v;
  }

  /** Whitespace, comments and (inside brackets) line breaks. */
  private skip(): void {
    for (;;) {
      const c = this.s[this.i];
      if (c === ' ' || c === '\t' || c === '\f') this.i++;
      else if (c === '#') {
        while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++;
      } else return;
    }
  }

  private peek(): string {
    this.skip();
    return this.s[this.i] ?? '';
  }

  private expr(): PyValue {
    const c = this.peek();
    if (c === '-' || c === '+') {
      this.i++;
      const v = this.atom();
      if (typeof v === 'number') return this.complexTail(c === '-' ? -v : v);
      if (v instanceof PyOpaque && v.kind === 'complex') return new PyOpaque('complex', c + v.text);
      throw new NotLiteral();
    }
    const v = this.atom();
    return typeof v === 'number' ? this.complexTail(v) : v;
  }

  /** `1+2j`: the only binary operation literal_eval accepts. */
  private complexTail(v: number): PyValue {
    const save = this.i;
    const op = this.peek();
    if (op !== '+' && op !== '-') return v;
    this.i++;
    const r = this.atom();
    if (r instanceof PyOpaque && r.kind === 'complex') return new PyOpaque('complex', `${v}${op}${r.text}`);
    this.i = save;
    throw new NotLiteral();
  }

  private atom(): PyValue {
    const c = this.peek();
    if (c === '[') return this.seq('[', ']', 'list');
    if (c === '(') return this.seq('(', ')', 'tuple');
    if (c === '{') return this.braces();
    if (/[0-9.]/.test(c)) return this.number();
    const m = /^([rRbBuU]{0,2})(['"])/.exec(this.s.slice(this.i));
    if (m) return this.strings();
    const w = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.i));
    if (w) {
      this.i += w[0].length;
      if (w[0] === 'True') return true;
      if (w[0] === 'False') return false;
      if (w[0] === 'None') return null;
      if (w[0] === 'set' && this.s.slice(this.i).match(/^\s*\(\s*\)/)) {
        this.i += this.s.slice(this.i).match(/^\s*\(\s*\)/)![0].length;
        return new PyOpaque('set', 'set()');
      }
      throw new NotLiteral();
    }
    if (this.s.startsWith('...', this.i)) {
      this.i += 3;
      return new PyOpaque('ellipsis', '...');
    }
    throw new NotLiteral();
  }

  private number(): PyValue {
    const rest = this.s.slice(this.i);
    const radix = /^0([xXoObB])((?:_?[0-9a-fA-F])+)(?![0-9A-Za-z_.])/.exec(rest);
    if (radix) {
      this.i += radix[0].length;
      const base = { x: 16, o: 8, b: 2 }[radix[1].toLowerCase() as 'x' | 'o' | 'b'];
      const digits = radix[2].replace(/_/g, '');
      if (![...digits].every((d) => parseInt(d, base) >= 0 && parseInt(d, base) < base)) throw new NotLiteral();
      return parseInt(digits, base);
    }
    const m = /^(?:\d(?:_?\d)*)?(?:\.(?:\d(?:_?\d)*)?)?(?:[eE][+-]?\d(?:_?\d)*)?[jJ]?/.exec(rest);
    const t = m?.[0] ?? '';
    if (!t || t === '.' || !/\d/.test(t) || /^[eE]/.test(t)) throw new NotLiteral();
    // What follows a number must not continue a name (`1a`, `host-01.internal` is a SyntaxError).
    if (/^[A-Za-z0-9_.]/.test(rest.slice(t.length))) throw new NotLiteral();
    this.i += t.length;
    if (/[jJ]$/.test(t)) return new PyOpaque('complex', t);
    const plain = t.replace(/_/g, '');
    if (/^\d+$/.test(plain)) {
      // Python 3: no leading zeros on a non-zero decimal integer (007 is a SyntaxError).
      if (plain.length > 1 && plain[0] === '0' && /[1-9]/.test(plain)) throw new NotLiteral();
      return Number(plain);
    }
    return Number(plain);
  }

  private strings(): PyValue {
    let out = '';
    let bytes: boolean | undefined;
    for (;;) {
      const m = /^([rRbBuU]{0,2})('''|"""|'|")/.exec(this.s.slice(this.i));
      if (!m) break;
      const prefix = m[1].toLowerCase();
      if (prefix.includes('u') && prefix.length > 1) throw new NotLiteral();
      const isBytes = prefix.includes('b');
      if (bytes !== undefined && bytes !== isBytes) throw new NotLiteral(); // mixing bytes and str
      bytes = isBytes;
      const raw = prefix.includes('r');
      const q = m[2];
      this.i += m[0].length;
      for (;;) {
        if (this.i >= this.s.length) throw new NotLiteral();
        if (this.s.startsWith(q, this.i)) {
          this.i += q.length;
          break;
        }
        const c = this.s[this.i];
        if (c === '\n' && q.length === 1) throw new NotLiteral();
        if (c === '\\') {
          const n = this.s[this.i + 1];
          if (n === undefined) throw new NotLiteral();
          if (raw) {
            out += c + n;
            this.i += 2;
            continue;
          }
          this.i += 2;
          const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '' };
          if (n in simple) out += simple[n];
          else if (n === 'x' && /^[0-9a-fA-F]{2}/.test(this.s.slice(this.i))) {
            out += String.fromCharCode(parseInt(this.s.slice(this.i, this.i + 2), 16));
            this.i += 2;
          } else if (/[0-7]/.test(n)) {
            const oct = /^[0-7]{0,2}/.exec(this.s.slice(this.i))![0];
            out += String.fromCharCode(parseInt(n + oct, 8));
            this.i += oct.length;
          } else if (!isBytes && (n === 'u' || n === 'U') && new RegExp(`^[0-9a-fA-F]{${n === 'u' ? 4 : 8}}`).test(this.s.slice(this.i))) {
            const len = n === 'u' ? 4 : 8;
            out += String.fromCodePoint(parseInt(this.s.slice(this.i, this.i + len), 16));
            this.i += len;
          } else out += '\\' + n;
          continue;
        }
        out += c;
        this.i++;
      }
      this.skip();
    }
    return bytes ? new PyOpaque('bytes', `b${JSON.stringify(out)}`) : out;
  }

  private seq(open: string, close: string, kind: 'list' | 'tuple'): PyValue {
    this.i++;
    const items: PyValue[] = [];
    let commas = 0;
    for (;;) {
      if (this.peekNl() === close) {
        this.i++;
        break;
      }
      items.push(this.exprNl());
      const c = this.peekNl();
      if (c === ',') {
        this.i++;
        commas++;
      } else if (c === close) {
        this.i++;
        break;
      } else throw new NotLiteral();
    }
    // `(1)` is just 1; `(1,)` and `()` are tuples (a JSON list, as Ansible prints them).
    if (kind === 'tuple' && items.length === 1 && commas === 0) return items[0];
    return items;
  }

  private braces(): PyValue {
    this.i++;
    if (this.peekNl() === '}') {
      this.i++;
      return {};
    }
    const first = this.exprNl();
    if (this.peekNl() === ':') {
      const out: Record<string, PyValue> = {};
      let key = first;
      for (;;) {
        this.i++; // ':'
        out[keyText(key)] = this.exprNl();
        const c = this.peekNl();
        if (c === '}') {
          this.i++;
          return out;
        }
        if (c !== ',') throw new NotLiteral();
        this.i++;
        if (this.peekNl() === '}') {
          this.i++;
          return out;
        }
        key = this.exprNl();
        if (this.peekNl() !== ':') throw new NotLiteral();
      }
    }
    // A set literal.
    for (;;) {
      const c = this.peekNl();
      if (c === '}') {
        this.i++;
        break;
      }
      if (c !== ',') throw new NotLiteral();
      this.i++;
      if (this.peekNl() === '}') continue;
      this.exprNl();
    }
    return new PyOpaque('set', 'a set');
  }

  // Inside brackets a newline is whitespace.
  private peekNl(): string {
    for (;;) {
      const c = this.peek();
      if (c === '\n' || c === '\r') this.i++;
      else return c;
    }
  }

  private exprNl(): PyValue {
    this.peekNl();
    return this.expr();
  }
}

/** JSON object keys are strings: Python's json.dumps writes True as "true", 1 as "1". */
function keyText(k: PyValue): string {
  if (k === null) return 'null';
  if (typeof k === 'boolean') return k ? 'true' : 'false';
  if (typeof k === 'object' && !(k instanceof PyOpaque)) throw new NotLiteral(); // unhashable
  return String(k);
}

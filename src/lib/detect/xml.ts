// A small, safe XML reader for annotation files (Pascal VOC), where workers have no DOMParser.
// Refuses what could make a small file expensive or reach outside it: any `<!DOCTYPE` or
// `<!ENTITY` (so no entity expansion, no external entities), entity references other than the
// five predefined ones and numeric character references, text over `maxBytes`, nesting deeper
// than `maxDepth`, more than `maxElements` elements. One loop with an explicit stack: no recursion.
// Namespaces are not interpreted (a prefixed name stays `prefix:name`).

export class XmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlError';
  }
}

export interface XmlElement {
  name: string;
  /** Attributes by name (a Map, so names like `__proto__` are plain keys). */
  attrs: Map<string, string>;
  children: XmlElement[];
  /** The element's own text (character data directly inside it, CDATA included), concatenated. */
  text: string;
}

export interface XmlLimits {
  maxBytes: number;
  maxDepth: number;
  maxElements: number;
}

export const XML_LIMITS: XmlLimits = { maxBytes: 4 * 1024 * 1024, maxDepth: 32, maxElements: 100_000 };

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const NAME = /^[A-Za-z_:][-A-Za-z0-9_:.]*$/;

function decodeEntities(s: string, what: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&([^;&\s]{0,32});?/g, (whole, ref: string) => {
    if (!whole.endsWith(';')) throw new XmlError(`${what} has a bare "&" (write &amp;); it was refused.`);
    if (Object.hasOwn(PREDEFINED, ref)) return PREDEFINED[ref];
    const m = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(ref);
    if (m) {
      const code = m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2], 10);
      if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
        throw new XmlError(`${what} has an invalid character reference &${ref};.`);
      return String.fromCodePoint(code);
    }
    throw new XmlError(
      `${what} uses the entity &${ref.slice(0, 32)};, which is not one of XML's five predefined entities; entities are not expanded, so it was refused.`,
    );
  });
}

/** Parses a document; `what` names the file in errors. Throws XmlError. */
export function parseXml(input: string, what: string, limits: XmlLimits = XML_LIMITS): XmlElement {
  if (input.length > limits.maxBytes)
    throw new XmlError(`${what} is ${input.length} characters; the limit is ${limits.maxBytes}, so it was refused.`);
  let text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  if (/<!DOCTYPE/i.test(text) || /<!ENTITY/i.test(text)) {
    throw new XmlError(
      `${what} has a <!DOCTYPE> or <!ENTITY> declaration; these are refused (they can expand entities or reach outside the file).`,
    );
  }
  text = text.replace(/\r\n?/g, '\n');
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  let elements = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const lt = text.indexOf('<', i);
    const chunk = text.slice(i, lt === -1 ? n : lt);
    if (chunk.length > 0) {
      if (stack.length === 0) {
        if (chunk.trim() !== '') throw new XmlError(`${what} has text outside its root element.`);
      } else stack[stack.length - 1].text += decodeEntities(chunk, what);
    }
    if (lt === -1) break;
    i = lt;
    if (text.startsWith('<?', i)) {
      const end = text.indexOf('?>', i + 2);
      if (end === -1) throw new XmlError(`${what} has an unterminated <? … ?>.`);
      i = end + 2;
    } else if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end === -1) throw new XmlError(`${what} has an unterminated comment.`);
      i = end + 3;
    } else if (text.startsWith('<![CDATA[', i)) {
      const end = text.indexOf(']]>', i + 9);
      if (end === -1) throw new XmlError(`${what} has an unterminated CDATA section.`);
      if (stack.length === 0) throw new XmlError(`${what} has CDATA outside its root element.`);
      stack[stack.length - 1].text += text.slice(i + 9, end);
      i = end + 3;
    } else if (text.startsWith('<!', i)) {
      throw new XmlError(`${what} has a "<!" declaration; declarations are refused.`);
    } else if (text.startsWith('</', i)) {
      const end = text.indexOf('>', i);
      if (end === -1) throw new XmlError(`${what} ends inside a closing tag.`);
      const name = text.slice(i + 2, end).trim();
      const open = stack.pop();
      if (!open || open.name !== name)
        throw new XmlError(`${what} closes <${name.slice(0, 40)}> where ${open ? `<${open.name}>` : 'no element'} is open.`);
      i = end + 1;
    } else {
      // A start tag: name, attributes, optional "/>"; quoted values may contain ">".
      let j = i + 1;
      while (j < n && !/[\s/>]/.test(text[j])) j++;
      const name = text.slice(i + 1, j);
      if (!NAME.test(name)) throw new XmlError(`${what} has an invalid tag name "${name.slice(0, 40)}".`);
      const attrs = new Map<string, string>();
      let selfClosing = false;
      for (;;) {
        while (j < n && /\s/.test(text[j])) j++;
        if (j >= n) throw new XmlError(`${what} ends inside the tag <${name}>.`);
        if (text[j] === '>') {
          j++;
          break;
        }
        if (text.startsWith('/>', j)) {
          selfClosing = true;
          j += 2;
          break;
        }
        const m = /^([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*("([^"<]*)"|'([^'<]*)')/.exec(text.slice(j, j + 4096));
        if (!m) throw new XmlError(`${what} has a malformed attribute in <${name}>.`);
        if (attrs.has(m[1])) throw new XmlError(`${what} repeats the attribute "${m[1]}" in <${name}>.`);
        attrs.set(m[1], decodeEntities(m[3] ?? m[4], what));
        j += m[0].length;
      }
      if (++elements > limits.maxElements) throw new XmlError(`${what} has more than ${limits.maxElements} elements; it was refused.`);
      const el: XmlElement = { name, attrs, children: [], text: '' };
      if (stack.length === 0) {
        if (root) throw new XmlError(`${what} has more than one root element.`);
        root = el;
      } else stack[stack.length - 1].children.push(el);
      if (!selfClosing) {
        stack.push(el);
        if (stack.length > limits.maxDepth)
          throw new XmlError(`${what} is nested more than ${limits.maxDepth} levels deep; it was refused.`);
      }
      i = j;
    }
  }
  if (stack.length > 0) throw new XmlError(`${what} ends before <${stack[stack.length - 1].name}> is closed.`);
  if (!root) throw new XmlError(`${what} has no root element.`);
  return root;
}

/** The first child element named `name`, or undefined. */
export const child = (el: XmlElement, name: string) => el.children.find((c) => c.name === name);

/** Escapes text for an element's content or a double-quoted attribute. */
export const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * Plain-text email parts that read well in any mail program and with a screen
 * reader: every link on a line of its own, so it is never cut by the mail
 * program's wrapping, can be selected whole, and is read out apart from the
 * sentence around it.
 *
 * Prose lines are not hard-wrapped at 72 columns: Japanese has no spaces, so a
 * hard break lands inside a word, screen readers pause there, and phones
 * narrower than 72 columns re-wrap each hard line into a ragged pair. The
 * transfer encoding (quoted-printable or base64) keeps lines on the wire short.
 */

const URL = /https?:\/\/[\x21-\x7e]+/g;
// ASCII punctuation that ends a sentence is prose, not part of the link before it.
const URL_TRAILING = /[).,;:!?'"\]]+$/;
/** Punctuation that closes what came before it: it stays with the link rather than start a line. */
const CLOSING = /^[)\].,;:!?'"、。，．）」』】〕〉》｝！？：；]+/;

function isolateInLine(line: string): string[] {
  const out: string[] = [];
  let rest = line;
  for (;;) {
    URL.lastIndex = 0;
    const match = URL.exec(rest);
    if (!match) break;
    const url = match[0].replace(URL_TRAILING, '');
    const before = rest.slice(0, match.index).trimEnd();
    const after = rest.slice(match.index + url.length);
    const closing = CLOSING.exec(after)?.[0] ?? '';
    if (before) out.push(before);
    out.push(url + closing);
    rest = after.slice(closing.length).trimStart();
  }
  if (rest || out.length === 0) out.push(rest);
  return out;
}

/** Puts every http(s) link of a plain-text part on a line of its own; everything else stays as written. */
export function isolateLinks(text: string): string {
  return text
    .split('\n')
    .flatMap((line) => (/https?:\/\//.test(line) ? isolateInLine(line.trimEnd()) : [line]))
    .join('\n');
}

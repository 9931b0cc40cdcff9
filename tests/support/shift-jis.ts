let table: Map<string, [number, number]> | null = null;

/** Every double-byte Shift_JIS character, from the platform's decoder. */
function doubleByteTable(): Map<string, [number, number]> {
  if (table) return table;
  table = new Map();
  const decoder = new TextDecoder('shift_jis');
  for (let lead = 0x81; lead <= 0xef; lead++) {
    if (lead >= 0xa0 && lead <= 0xdf) continue;
    for (let trail = 0x40; trail <= 0xfc; trail++) {
      if (trail === 0x7f) continue;
      const c = decoder.decode(Uint8Array.of(lead, trail));
      if (c.length === 1 && c !== '\uFFFD' && !table.has(c)) table.set(c, [lead, trail]);
    }
  }
  return table;
}

/**
 * Shift_JIS bytes of a text, as Notepad or Excel on Japanese Windows save it
 * (ASCII and JIS X 0208), built from the platform's Shift_JIS decoder: no
 * encoding library needed.
 */
export function shiftJis(text: string): Buffer {
  const pairs = doubleByteTable();
  const bytes: number[] = [];
  for (const c of text) {
    const code = c.codePointAt(0)!;
    if (code < 0x80) bytes.push(code);
    else {
      const pair = pairs.get(c);
      if (!pair) throw new Error(`no Shift_JIS form for ${c}`);
      bytes.push(...pair);
    }
  }
  return Buffer.from(bytes);
}

import { readFile } from 'node:fs/promises';
import type { Font, PathCommand } from 'opentype.js';

/**
 * Text drawn into a 1-bit image, for printers that have no code page for a script (Georgian):
 * glyph outlines from the page's own TrueType subsets (opentype.js parses them), flattened to
 * edges and filled scanline by scanline with the nonzero rule, 4 sub-scanlines per dot and the
 * exact horizontal coverage of each span, then a dot is black when at least half of it is ink.
 * Pure JavaScript: nothing native, nothing downloaded.
 */

/** A 1-bit image in ESC/POS raster order: rows of ceil(width / 8) bytes, MSB leftmost, 1 = black. */
export interface Bitmap {
  width: number;
  height: number;
  data: Uint8Array;
}

export function bytesPerRow(width: number): number {
  return (width + 7) >> 3;
}

export function isBlack(bitmap: Bitmap, x: number, y: number): boolean {
  return (bitmap.data[y * bytesPerRow(bitmap.width) + (x >> 3)]! & (0x80 >> (x & 7))) !== 0;
}

/** The stacked images, one below the other, `width` wide. */
export function stackBitmaps(width: number, parts: readonly Bitmap[]): Bitmap {
  const row = bytesPerRow(width);
  const height = parts.reduce((sum, part) => sum + part.height, 0);
  const data = new Uint8Array(row * height);
  let y = 0;
  for (const part of parts) {
    const partRow = bytesPerRow(part.width);
    for (let r = 0; r < part.height; r++) data.set(part.data.subarray(r * partRow, r * partRow + Math.min(partRow, row)), (y + r) * row);
    y += part.height;
  }
  return { width, height, data };
}

/** Fonts tried in order for each character: the first that has a glyph for it draws it. */
export class FontStack {
  constructor(readonly fonts: readonly Font[]) {
    if (fonts.length === 0) throw new Error('a font stack needs at least one font');
  }

  fontFor(char: string): Font {
    return this.fonts.find((font) => font.charToGlyphIndex(char) > 0) ?? this.fonts[0]!;
  }

  /** Whether some font of the stack has a real glyph for every character (no .notdef boxes). */
  covers(text: string): boolean {
    return [...text].every((char) => /\s/.test(char) || this.fonts.some((font) => font.charToGlyphIndex(char) > 0));
  }

  ascent(size: number): number {
    return Math.max(...this.fonts.map((font) => (font.ascender / font.unitsPerEm) * size));
  }

  descent(size: number): number {
    return Math.max(...this.fonts.map((font) => (-font.descender / font.unitsPerEm) * size));
  }

  lineHeight(size: number): number {
    return Math.ceil(this.ascent(size) + this.descent(size));
  }

  private advance(char: string, size: number): number {
    const font = this.fontFor(char);
    return ((font.charToGlyph(char).advanceWidth ?? font.unitsPerEm / 2) / font.unitsPerEm) * size;
  }

  measure(text: string, size: number): number {
    let width = 0;
    for (const char of text) width += this.advance(char, size);
    return width;
  }

  /** Outline commands of `text` with its baseline at (x, y), in dots (y grows downwards). */
  outline(text: string, x: number, y: number, size: number): PathCommand[] {
    const commands: PathCommand[] = [];
    let pen = x;
    for (const char of text) {
      const font = this.fontFor(char);
      if (!/\s/.test(char)) commands.push(...font.charToGlyph(char).getPath(pen, y, size).commands);
      pen += this.advance(char, size);
    }
    return commands;
  }

  /** Greedy word wrap to `maxWidth` dots; a word wider than a line is broken between characters. */
  wrap(text: string, size: number, maxWidth: number): string[] {
    const lines: string[] = [];
    // An indent (a receipt's "    1,50 each") stays on the first line.
    let line = /^\s*/.exec(text)![0];
    for (const word of text.split(/\s+/).filter(Boolean)) {
      const candidate = line.trim() ? `${line} ${word}` : `${line}${word}`;
      if (this.measure(candidate, size) <= maxWidth) {
        line = candidate;
        continue;
      }
      if (line.trim()) lines.push(line);
      line = '';
      for (const char of word) {
        if (line && this.measure(line + char, size) > maxWidth) {
          lines.push(line);
          line = '';
        }
        line += char;
      }
    }
    if (line || lines.length === 0) lines.push(line);
    return lines;
  }
}

export async function loadFontStack(files: readonly string[]): Promise<FontStack> {
  const { parse } = await import('opentype.js');
  const fonts = await Promise.all(
    files.map(async (file) => {
      const bytes = await readFile(file);
      return parse(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
    }),
  );
  return new FontStack(fonts);
}

interface Edge {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** +1 going down, -1 going up: the nonzero rule sums these. */
  winding: number;
}

const SUBSAMPLES = 4;

/** Straight edges of an outline; curves become segments about a dot long. */
function flatten(commands: readonly PathCommand[]): Edge[] {
  const edges: Edge[] = [];
  let startX = 0;
  let startY = 0;
  let x = 0;
  let y = 0;
  const line = (toX: number, toY: number) => {
    if (toY !== y) edges.push(toY > y ? { x0: x, y0: y, x1: toX, y1: toY, winding: 1 } : { x0: toX, y0: toY, x1: x, y1: y, winding: -1 });
    x = toX;
    y = toY;
  };
  for (const command of commands) {
    switch (command.type) {
      case 'M':
        if (x !== startX || y !== startY) line(startX, startY);
        startX = x = command.x;
        startY = y = command.y;
        break;
      case 'L':
        line(command.x, command.y);
        break;
      case 'Q': {
        const [x0, y0] = [x, y];
        const steps = Math.max(2, Math.ceil(Math.hypot(command.x - x0, command.y - y0)));
        for (let i = 1; i <= steps; i++) {
          const t = i / steps;
          const u = 1 - t;
          line(u * u * x0 + 2 * u * t * command.x1 + t * t * command.x, u * u * y0 + 2 * u * t * command.y1 + t * t * command.y);
        }
        break;
      }
      case 'C': {
        const [x0, y0] = [x, y];
        const steps = Math.max(2, Math.ceil(Math.hypot(command.x - x0, command.y - y0) * 1.5));
        for (let i = 1; i <= steps; i++) {
          const t = i / steps;
          const u = 1 - t;
          line(
            u * u * u * x0 + 3 * u * u * t * command.x1 + 3 * u * t * t * command.x2 + t * t * t * command.x,
            u * u * u * y0 + 3 * u * u * t * command.y1 + 3 * u * t * t * command.y2 + t * t * t * command.y,
          );
        }
        break;
      }
      case 'Z':
        line(startX, startY);
        break;
    }
  }
  if (x !== startX || y !== startY) line(startX, startY);
  return edges;
}

/** Ink coverage (0..1 per dot) of a `width` × `height` area, filled from outlines. */
export class Coverage {
  readonly ink: Float32Array;

  constructor(readonly width: number, readonly height: number) {
    this.ink = new Float32Array(width * height);
  }

  fill(commands: readonly PathCommand[]): void {
    const edges = flatten(commands);
    if (edges.length === 0) return;
    const top = Math.max(0, Math.floor(Math.min(...edges.map((e) => e.y0))));
    const bottom = Math.min(this.height, Math.ceil(Math.max(...edges.map((e) => e.y1))));
    const crossings: { x: number; winding: number }[] = [];
    for (let row = top; row < bottom; row++) {
      for (let s = 0; s < SUBSAMPLES; s++) {
        const sy = row + (s + 0.5) / SUBSAMPLES;
        crossings.length = 0;
        for (const e of edges) if (sy >= e.y0 && sy < e.y1) crossings.push({ x: e.x0 + ((sy - e.y0) * (e.x1 - e.x0)) / (e.y1 - e.y0), winding: e.winding });
        crossings.sort((a, b) => a.x - b.x);
        let winding = 0;
        for (let i = 0; i < crossings.length - 1; i++) {
          winding += crossings[i]!.winding;
          if (winding !== 0) this.span(row, crossings[i]!.x, crossings[i + 1]!.x);
        }
      }
    }
  }

  /** Adds one sub-scanline's span [from, to) to the dots it covers, by the length covered. */
  private span(row: number, from: number, to: number): void {
    const left = Math.max(0, from);
    const right = Math.min(this.width, to);
    if (right <= left) return;
    const base = row * this.width;
    for (let px = Math.floor(left); px < right; px++) {
      const covered = Math.min(px + 1, right) - Math.max(px, left);
      this.ink[base + px]! += covered / SUBSAMPLES;
    }
  }

  /** Black where at least `threshold` of a dot is ink. */
  toBitmap(threshold = 0.5): Bitmap {
    const row = bytesPerRow(this.width);
    const data = new Uint8Array(row * this.height);
    for (let y = 0; y < this.height; y++) {
      for (let x = 0; x < this.width; x++) if (this.ink[y * this.width + x]! >= threshold) data[y * row + (x >> 3)]! |= 0x80 >> (x & 7);
    }
    return { width: this.width, height: this.height, data };
  }
}

export type Align = 'left' | 'center' | 'right';

/** One line of text placed on a line of paper: where it starts follows its alignment. */
export interface PlacedText {
  text: string;
  align: Align;
}

/**
 * Draws lines of text, each line a set of placed strings (a receipt's "2 x Name ... 3,00 ₾" is a
 * left and a right string), `width` dots wide, at `size` dots per em.
 */
export function drawLines(stack: FontStack, lines: readonly PlacedText[][], width: number, size: number): Bitmap {
  const lineHeight = stack.lineHeight(size);
  const coverage = new Coverage(width, lineHeight * lines.length);
  const ascent = stack.ascent(size);
  lines.forEach((placed, i) => {
    const baseline = i * lineHeight + ascent;
    for (const { text, align } of placed) {
      const textWidth = stack.measure(text, size);
      const x = align === 'left' ? 0 : align === 'right' ? width - textWidth : (width - textWidth) / 2;
      coverage.fill(stack.outline(text, Math.max(0, x), baseline, size));
    }
  });
  return coverage.toBitmap();
}

// What a figure draws, as a string: the renderer draws a chart again only when it changed.

const float = new Float64Array(1);
const words = new Int32Array(float.buffer); // a number's 64 bits: 1e-9 and 2e-9 differ as much as 1 and 2

// A hash of a long array of values: its length and every value, cheaper than their text.
function digest(values) {
  let h = 0;
  for (const v of values) {
    if (typeof v === "number") {
      float[0] = v;
      h = (Math.imul(h, 31) + words[0]) | 0;
      h = (Math.imul(h, 31) + words[1]) | 0;
    } else {
      for (const c of String(v)) h = (Math.imul(h, 31) + c.codePointAt(0)) | 0;
    }
  }
  return `#${values.length}:${h}`;
}

// What a figure draws, as a string: equal strings draw the same picture (long arrays by their digest).
export const signatureOf = (figure) =>
  JSON.stringify(figure, (k, v) => (Array.isArray(v) && v.length > 32 && typeof v[0] !== "object" ? digest(v) : v));

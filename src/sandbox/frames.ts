/**
 * Frames between the sandbox host and its child (spec/tools.md §3.3): a
 * 4-byte big-endian length, then UTF-8 JSON, at most 4 MiB each. Parsing
 * rejects the keys `__proto__`, `constructor` and `prototype`, so nothing a
 * child sends can reach an object's prototype. Used by both sides; relative
 * imports only (the child loads it from the runtime folder).
 *
 * @module
 */

/** Largest frame body in bytes. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

/** A frame that breaks the protocol (bad length, bad JSON, a forbidden key). */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FrameError";
  }
}

const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"]);

/** `JSON.parse` that refuses prototype-polluting keys. */
export function parseFrameJson(text: string): unknown {
  return JSON.parse(text, (key, value) => {
    if (FORBIDDEN.has(key)) throw new FrameError(`forbidden key "${key}" in a frame`);
    return value;
  });
}

/** Encodes one frame. */
export function encodeFrame(message: unknown): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(message));
  if (body.length > MAX_FRAME_BYTES) throw new FrameError("frame too large");
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, 4);
  return frame;
}

/** Reads frames from a byte stream, one parsed message at a time. */
export async function* readFrames(
  stream: ReadableStream<Uint8Array>,
  maxBytes = MAX_FRAME_BYTES,
): AsyncGenerator<unknown> {
  const reader = stream.getReader();
  let buffer = new Uint8Array(0);
  try {
    for (;;) {
      while (buffer.length >= 4) {
        const length = new DataView(buffer.buffer, buffer.byteOffset, 4).getUint32(0);
        if (length > maxBytes) throw new FrameError(`frame of ${length} bytes is over the limit`);
        if (buffer.length < 4 + length) break;
        const body = buffer.slice(4, 4 + length);
        buffer = buffer.slice(4 + length);
        let text: string;
        try {
          text = new TextDecoder("utf-8", { fatal: true }).decode(body);
        } catch {
          throw new FrameError("frame is not UTF-8");
        }
        try {
          yield parseFrameJson(text);
        } catch (error) {
          throw error instanceof FrameError ? error : new FrameError("frame is not JSON");
        }
      }
      const { value, done } = await reader.read();
      if (done) {
        if (buffer.length > 0) throw new FrameError("stream ended inside a frame");
        return;
      }
      const next = new Uint8Array(buffer.length + value.length);
      next.set(buffer);
      next.set(value, buffer.length);
      buffer = next;
    }
  } finally {
    reader.releaseLock();
  }
}

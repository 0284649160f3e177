/**
 * A WebSocket test client over a real socket: queues what the server sends
 * and waits for messages by type, without sleeping.
 */

/** A server message. */
export interface Envelope {
  type: string;
  seq: number;
  ts: number;
  re?: number;
  data: Record<string, unknown>;
}

/** A connected test client. */
export interface WsClient {
  /** Every message received so far, in order. */
  readonly received: Envelope[];
  /** The next message not yet taken (of `type`, skipping others when given). */
  next(type?: string): Promise<Envelope>;
  /** Sends `{type, seq, data}` with the client's own counter. */
  send(type: string, data?: unknown): number;
  /** Sends a raw frame. */
  raw(frame: string | Uint8Array): void;
  /** Resolves with the close code. */
  readonly closed: Promise<number>;
  /** The close frame's reason, once closed. */
  readonly closeReason: string;
  close(): void;
}

/**
 * Opens `url` with `protocols` (and the upgrade request's `headers`, which Deno's WebSocket
 * accepts); resolves once open, rejects when refused.
 */
export function connect(
  url: string,
  protocols: string[] = ["synth.v1"],
  headers?: Record<string, string>,
): Promise<WsClient> {
  const target = url.replace(/^http/, "ws") + "/ws";
  const socket = headers
    ? new WebSocket(target, { protocols, headers } as unknown as string[])
    : new WebSocket(target, protocols);
  const received: Envelope[] = [];
  let taken = 0;
  let wake: (() => void) | undefined;
  let seq = 0;
  const { promise: closed, resolve: closeWith } = Promise.withResolvers<number>();
  let closeReason = "";
  socket.onmessage = (event) => {
    received.push(JSON.parse(event.data as string));
    wake?.();
  };
  socket.onclose = (event) => {
    closeReason = event.reason;
    closeWith(event.code);
    wake?.();
  };
  const client: WsClient = {
    received,
    async next(type) {
      for (;;) {
        while (taken < received.length) {
          const message = received[taken++]!;
          if (!type || message.type === type) return message;
        }
        if (socket.readyState >= WebSocket.CLOSING) {
          throw new Error(`the socket closed while waiting for ${type ?? "a message"}`);
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    send(type, data = {}) {
      socket.send(JSON.stringify({ type, seq: ++seq, data }));
      return seq;
    },
    raw(frame) {
      socket.send(frame);
    },
    closed,
    get closeReason() {
      return closeReason;
    },
    close() {
      socket.close();
    },
  };
  return new Promise((resolve, reject) => {
    socket.onopen = () => resolve(client);
    socket.onerror = () => reject(new Error("the WebSocket was refused"));
  });
}

/** A socket of the user with `token`, subscribed to `topics`, past its welcome. */
export async function signedIn(url: string, token: string, topics: string[]): Promise<WsClient> {
  const client = await connect(url);
  client.send("hello", { token, topics });
  await client.next("welcome");
  return client;
}

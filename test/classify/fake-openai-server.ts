import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the fake endpoint answers one request. */
export type Behaviour =
  | { readonly kind: 'answer'; readonly content: string; readonly delayMs?: number }
  | { readonly kind: 'status'; readonly status: number; readonly headers?: Record<string, string> }
  | { readonly kind: 'slow'; readonly delayMs: number; readonly content: string }
  | { readonly kind: 'drop' };

export interface RecordedRequest {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: {
    model?: string;
    temperature?: number;
    messages?: Array<{ role: string; content: string }>;
    response_format?: { type: string; json_schema?: { strict?: boolean; schema?: unknown } };
  };
  readonly at: number;
}

export interface FakeOpenAiServer {
  /** Base URL for the OpenAI client, e.g. http://127.0.0.1:PORT/v1. */
  readonly baseURL: string;
  readonly requests: RecordedRequest[];
  /** Answers scheduled but not yet sent (slow answers still in flight). */
  pending(): number;
  /** Queue behaviours for the next requests; when the queue is empty, `fallback` answers. */
  enqueue(...behaviours: Behaviour[]): void;
  close(): Promise<void>;
}

/** The JSON content of a good classification answer. */
export function answerContent(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    category: 'CHRONOLOGICAL',
    confidence: 0.92,
    reasoning: 'A family outing this afternoon.',
    tags: ['kids', 'aquarium'],
    emotional_context: 'joy',
    security_level: 1,
    ...overrides,
  });
}

function completion(content: string): string {
  return JSON.stringify({
    id: 'chatcmpl-test',
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: 'fake-model',
    choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content, refusal: null } }],
    usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
  });
}

/**
 * A real HTTP server on 127.0.0.1 (port 0) speaking the chat-completions protocol, with scripted failures:
 * malformed answers, status codes with Retry-After, slow answers and connections dropped mid-answer.
 */
export async function startFakeOpenAi(
  fallback: Behaviour = { kind: 'answer', content: answerContent() },
): Promise<FakeOpenAiServer> {
  const queue: Behaviour[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    let body: RecordedRequest['body'] = {};
    try {
      body = JSON.parse(raw) as RecordedRequest['body'];
    } catch {
      // recorded as empty; the tests assert on well-formed requests
    }
    requests.push({ path: req.url ?? '', headers: req.headers, body, at: Date.now() });
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
      return;
    }
    const b = queue.shift() ?? fallback;
    const send = (content: string) => {
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'application/json' }).end(completion(content));
    };
    switch (b.kind) {
      case 'answer':
        if (b.delayMs) later(b.delayMs, () => send(b.content));
        else send(b.content);
        return;
      case 'slow':
        later(b.delayMs, () => send(b.content));
        return;
      case 'status':
        res
          .writeHead(b.status, { 'content-type': 'application/json', ...b.headers })
          .end(JSON.stringify({ error: { message: `status ${b.status}`, type: 'test' } }));
        return;
      case 'drop': {
        // Headers and half a body, then the connection dies.
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
        res.write('{"id":"chatcmpl-test","choices":[{"message":{"content":"{\\"categ');
        later(5, () => res.socket?.destroy());
        return;
      }
    }
  };

  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      raw += chunk;
    });
    req.on('end', () => handle(req, res, raw));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    pending: () => timers.size,
    enqueue: (...bs) => {
      queue.push(...bs);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

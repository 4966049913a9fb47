// The few calls the page makes to the OpenAI-compatible API, with errors turned into one exception type so the UI
// can show every failure the same way (HTTP status bodies and errors sent inside a running stream alike).

import { readSseData } from './sse.js';

/** A failure reported by the server (or the network), with the OpenAI error fields when the body had them. */
export class ApiError extends Error {
  constructor(message, { status = 0, type = null, code = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.type = type;
    this.code = code;
  }

  /** True for a missing or wrong API key: the page then asks for the key instead of showing a raw error. */
  get isAuth() {
    return this.status === 401 || this.code === 'invalid_api_key';
  }
}

function headers(apiKey, json) {
  const h = { Accept: json ? 'application/json' : 'text/event-stream' };
  if (json) h['Content-Type'] = 'application/json';
  // With auth off the server accepts any key or none, so an empty field simply sends no header.
  if (apiKey) h.Authorization = `Bearer ${apiKey}`;
  return h;
}

/** Reads an error response: the OpenAI body {error:{message,type,code}} when present, else the status line and text. */
async function errorFrom(response) {
  const text = await response.text().catch(() => '');
  let detail = null;
  try {
    detail = JSON.parse(text).error ?? null;
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): fall back to the status text below.
  }
  const message = detail?.message || text.trim().slice(0, 300) || response.statusText || 'request failed';
  return new ApiError(message, { status: response.status, type: detail?.type ?? null, code: detail?.code ?? null });
}

/** GET /health without a key (it is never protected): {status, model?, error?} and the HTTP status. */
export async function getHealth() {
  const response = await fetch('/health', { headers: { Accept: 'application/json' }, cache: 'no-store' });
  const body = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, body };
}

/** GET /v1/models and returns the first (the only) model card, including the server's `meta` block. */
export async function getModel(apiKey) {
  const response = await fetch('/v1/models', { headers: headers(apiKey, true), cache: 'no-store' });
  if (!response.ok) throw await errorFrom(response);
  const list = await response.json();
  const card = list?.data?.[0];
  if (!card) throw new ApiError('the server lists no model', { status: response.status });
  return card;
}

/**
 * POSTs a streaming chat completion and yields what the UI needs, in order:
 *   {kind:'delta', text}, {kind:'finish', reason}, {kind:'usage', usage, timings}.
 * Throws ApiError for an error status or a `data: {"error":...}` event; an abort surfaces as the fetch AbortError.
 */
export async function* streamChat(apiKey, body, signal) {
  const response = await fetch('/v1/chat/completions', {
    method: 'POST',
    headers: headers(apiKey, true),
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
    signal,
  });
  if (!response.ok) throw await errorFrom(response);
  if (!response.body) throw new ApiError('this browser cannot read streamed responses');

  let sawDone = false;
  for await (const data of readSseData(response.body)) {
    // Events already received in the same network chunk would still be yielded after Stop; stop means now.
    signal?.throwIfAborted();
    if (data === '[DONE]') {
      sawDone = true;
      break;
    }
    let chunk;
    try {
      chunk = JSON.parse(data);
    } catch {
      throw new ApiError(`the server sent an unreadable event: ${data.slice(0, 120)}`);
    }
    if (chunk.error) {
      const e = chunk.error;
      throw new ApiError(e.message || 'the server reported an error', { type: e.type ?? null, code: e.code ?? null });
    }
    for (const choice of chunk.choices ?? []) {
      const text = choice.delta?.content;
      if (text) yield { kind: 'delta', text };
      if (choice.finish_reason) yield { kind: 'finish', reason: choice.finish_reason };
    }
    if (chunk.usage) yield { kind: 'usage', usage: chunk.usage, timings: chunk.timings ?? null };
  }
  // A stream that ends without [DONE] was cut (server restart, proxy timeout): say so rather than look finished.
  if (!sawDone) throw new ApiError('the connection closed before the answer was complete');
}
